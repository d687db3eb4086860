// A reward model on the embedded engine: a `*ForSequenceClassification` folder with one label (what
// TRL's RewardTrainer writes) as the decoder it is built on plus its `score` head, scoring prompt +
// response as TRL builds the text and as transformers pools it (the last token that is not padding).
// Not the text-generation side (session.ts) and not what a score means for an evaluation (dpo eval).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ProbeMessage } from '../../protocol';
import { ModelConfig, ModelConfigError, parseModelConfig } from '../model/config';
import { CheckpointError, readModelWeights } from '../model/checkpoint';
import { ADAPTER_CONFIG } from '../model/adapter-files';
import { CausalLM } from '../model/transformer';
import { TextTokenizer, loadTokenizer } from '../tokenizer/tokenizer';

export class RewardModelError extends Error {}

/** Sequence classifiers whose base the engine implements, and the causal LM built on that same base. */
const CLASSIFIER_BASES: Record<string, string> = {
  GPT2ForSequenceClassification: 'GPT2LMHeadModel',
  LlamaForSequenceClassification: 'LlamaForCausalLM',
  Qwen2ForSequenceClassification: 'Qwen2ForCausalLM',
  Qwen3ForSequenceClassification: 'Qwen3ForCausalLM',
  MistralForSequenceClassification: 'MistralForCausalLM',
  Phi3ForSequenceClassification: 'Phi3ForCausalLM',
  Gemma2ForSequenceClassification: 'Gemma2ForCausalLM',
  Gemma3TextForSequenceClassification: 'Gemma3ForCausalLM',
};
export const SUPPORTED_REWARD_ARCHITECTURES = Object.keys(CLASSIFIER_BASES);

export interface RewardModelConfig {
  /** The base transformer (the head is not part of it: never called for logits). */
  config: ModelConfig;
  /** What config.json declares, e.g. "LlamaForSequenceClassification". */
  architecture: string;
  /** config.json's pad_token_id: the token transformers skips when it picks the position to score. */
  padId: number | undefined;
}

/** transformers' num_labels: id2label's size when present, else num_labels, else its default of 2. */
function numLabels(raw: Record<string, unknown>): number {
  if (typeof raw.id2label === 'object' && raw.id2label !== null) return Object.keys(raw.id2label).length;
  return typeof raw.num_labels === 'number' ? raw.num_labels : 2;
}

/** Reads and checks a reward model folder's config.json; every refusal names the file and what to do. */
export function readRewardModelConfig(dir: string): RewardModelConfig {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new RewardModelError(`${dir}: not a folder; a reward model is a Hugging Face model folder`);
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file) && fs.existsSync(path.join(dir, ADAPTER_CONFIG))) {
    throw new RewardModelError(
      `${path.join(dir, ADAPTER_CONFIG)}: a PEFT adapter; the embedded engine loads whole reward models: use the PyTorch engine ` +
        `(it merges the adapter on load), or merge it once with PEFT (AutoPeftModelForSequenceClassification.from_pretrained(dir, ` +
        `num_labels=1).merge_and_unload().save_pretrained(out), tokenizer too) and give that folder`,
    );
  }
  if (!fs.existsSync(file)) throw new RewardModelError(`${file}: missing; a reward model folder needs the Hugging Face config.json`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RewardModelError(`${file}: invalid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RewardModelError(`${file}: not a JSON object`);
  const archs = raw.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (!architecture?.endsWith('ForSequenceClassification')) {
    throw new RewardModelError(
      `${file}: architectures is ${JSON.stringify(archs ?? null)}, not a sequence classifier; a reward model is a ` +
        `*ForSequenceClassification folder with num_labels 1 (what TRL's RewardTrainer writes)`,
    );
  }
  const labels = numLabels(raw);
  if (labels !== 1) {
    throw new RewardModelError(
      `${file}: num_labels is ${labels} (field "id2label"); a reward model has one label, its score: train it with TRL's RewardTrainer`,
    );
  }
  const base = CLASSIFIER_BASES[architecture];
  if (!base) {
    throw new RewardModelError(
      `${file}: ${architecture} is not supported by the embedded engine (supported: ${SUPPORTED_REWARD_ARCHITECTURES.join(', ')}); use the PyTorch engine`,
    );
  }
  let parsed: ModelConfig;
  try {
    parsed = parseModelConfig({ ...raw, architectures: [base] }, file);
  } catch (err) {
    throw new RewardModelError(err instanceof ModelConfigError ? err.message : String(err));
  }
  // Tied: the classifier has no lm_head, and the base must not ask for one (logits are never taken).
  const config: ModelConfig = { ...parsed, architecture, tieWordEmbeddings: true };
  const padId = typeof raw.pad_token_id === 'number' ? raw.pad_token_id : undefined;
  return { config, architecture, padId };
}

/**
 * The token ids TRL's RewardTrainer scores: text examples are prompt + response with the EOS text
 * appended when the response does not end with it, tokenized with the special tokens; conversations
 * (the messages, or one user turn of `prompt`, then the response as the assistant's) go through the
 * chat template without a generation prompt and are tokenized as rendered.
 */
export function rewardInputIds(tok: TextTokenizer, prompt: string, chat: boolean, response: string, messages?: ProbeMessage[]): number[] {
  if (chat) {
    const turns = [...(messages ?? [{ role: 'user', content: prompt }]), { role: 'assistant', content: response }];
    return tok.encode(tok.applyChatTemplate(turns, false), false);
  }
  const eos = tok.eosToken;
  return tok.encode(prompt + (eos !== undefined && !response.endsWith(eos) ? response + eos : response), true);
}

/** The position transformers pools: the rightmost token that is not padding (0 when all are), or the last one without a pad id. */
export function scoredPosition(ids: readonly number[], padId: number | undefined): number {
  if (padId === undefined) return ids.length - 1;
  for (let i = ids.length - 1; i >= 0; i--) if (ids[i] !== padId) return i;
  return 0;
}

export class RewardModel {
  private disposed = false;

  private constructor(
    readonly dir: string,
    readonly architecture: string,
    private readonly model: CausalLM,
    /** The score head [1, D] (nn.Linear without bias). */
    private readonly head: tf.Tensor2D,
    readonly tokenizer: TextTokenizer,
    readonly padId: number | undefined,
  ) {}

  static load(dir: string): RewardModel {
    const { config, architecture, padId } = readRewardModelConfig(dir);
    const tokenizer = loadTokenizer(dir);
    let loaded;
    try {
      loaded = readModelWeights(dir, config, new Map([['score.weight', [1, config.hiddenSize]]]));
    } catch (err) {
      throw err instanceof CheckpointError ? new RewardModelError(err.message) : err;
    }
    const score = loaded.weights.get('score.weight')!;
    const model = new CausalLM(config, loaded.weights, false);
    return new RewardModel(dir, architecture, model, tf.tensor2d(score.data, [1, config.hiddenSize]), tokenizer, padId);
  }

  /** Parameters of the base and the head. */
  numParameters(): number {
    return this.model.numParameters() + this.head.size;
  }

  async score(prompt: string, chat: boolean, response: string, messages?: ProbeMessage[]): Promise<number> {
    if (this.disposed) throw new RewardModelError('the reward model was unloaded: send reward-model/load again');
    const ids = rewardInputIds(this.tokenizer, prompt, chat, response, messages);
    if (ids.length === 0) throw new RewardModelError(`${this.dir}: prompt + response tokenize to nothing, so there is no token to score`);
    const max = this.model.config.maxPositions;
    if (ids.length > max) {
      throw new RewardModelError(`prompt + response are ${ids.length} tokens, more than the reward model's ${max} positions (${this.dir}); shorten them`);
    }
    // Causal attention: the pooled position's hidden state depends only on the tokens up to it.
    const upTo = ids.slice(0, scoredPosition(ids, this.padId) + 1);
    const value = tf.tidy(() => {
      const hidden = this.model.hidden(tf.tensor2d([upTo], [1, upTo.length], 'int32')); // [1, T, D]
      const D = hidden.shape[2];
      const last = tf.reshape(tf.slice(hidden, [0, upTo.length - 1, 0], [1, 1, D]), [1, D]);
      return tf.matMul(last, this.head, false, true); // [1, 1]
    });
    try {
      return (await value.data())[0];
    } finally {
      value.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
    this.head.dispose();
    this.tokenizer.dispose();
  }
}
