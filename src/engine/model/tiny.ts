// `dpo make-tiny-model`: a small randomly initialised GPT-2 or Llama-family model in the Hugging Face
// layout, with the byte-level tokenizer, for demos and tests (nothing can be downloaded here).
// Initialisation follows transformers' _init_weights; the same options give the same bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelConfig, ModelFamily, expectedWeights, parseModelConfig } from './config';
import { saveWeights } from './checkpoint';
import { WeightData } from './transformer';
import { Rng } from '../rng';
import { byteLevelTokenizerFiles } from '../tokenizer/byte-level';

export interface TinyModelOptions {
  family: ModelFamily;
  layers: number;
  dModel: number;
  heads: number;
  /** Llama family only: key/value heads (grouped-query attention). Default: heads. */
  kvHeads?: number;
  /** Embedding rows; at least the tokenizer's 259 tokens; extra rows are padding, as in many HF models. */
  vocab?: number;
  maxPositions: number;
  seed: number;
  /** Llama family: untied output head. */
  untiedHead?: boolean;
  /** Llama family: q/k/v biases (the Qwen2 layout). */
  qkvBias?: boolean;
  /** Words that become single tokens after a space (BPE merges on top of the bytes). */
  words?: string[];
}

export const TINY_MODEL_DEFAULTS: TinyModelOptions = { family: 'gpt2', layers: 2, dModel: 64, heads: 4, maxPositions: 256, seed: 0 };

export function tinyModelConfig(o: TinyModelOptions, vocabSize: number): Record<string, unknown> {
  if (o.dModel % o.heads !== 0) throw new Error(`--d-model ${o.dModel} must be divisible by --heads ${o.heads}`);
  const eos = 256;
  if (o.family === 'gpt2') {
    if (o.kvHeads !== undefined && o.kvHeads !== o.heads)
      throw new Error('--kv-heads applies to the llama family only (GPT-2 has one key/value head per head)');
    if (o.untiedHead || o.qkvBias) throw new Error('--untied-head and --qkv-bias apply to the llama family only');
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: vocabSize,
      n_positions: o.maxPositions,
      n_embd: o.dModel,
      n_layer: o.layers,
      n_head: o.heads,
      n_inner: null,
      activation_function: 'gelu_new',
      resid_pdrop: 0.0,
      embd_pdrop: 0.0,
      attn_pdrop: 0.0,
      layer_norm_epsilon: 1e-5,
      initializer_range: 0.02,
      scale_attn_weights: true,
      use_cache: true,
      bos_token_id: eos,
      eos_token_id: eos,
      tie_word_embeddings: true,
    };
  }
  const kvHeads = o.kvHeads ?? o.heads;
  if (o.heads % kvHeads !== 0) throw new Error(`--heads ${o.heads} must be a multiple of --kv-heads ${kvHeads}`);
  return {
    architectures: [o.qkvBias ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: o.qkvBias ? 'qwen2' : 'llama',
    vocab_size: vocabSize,
    hidden_size: o.dModel,
    intermediate_size: Math.ceil((o.dModel * 8) / 3 / 8) * 8,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: kvHeads,
    max_position_embeddings: o.maxPositions,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    rope_scaling: null,
    hidden_act: 'silu',
    initializer_range: 0.02,
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: eos,
    eos_token_id: eos,
    tie_word_embeddings: !o.untiedHead,
    use_cache: true,
  };
}

/** Random weights for a config, initialised as transformers' _init_weights does. */
export function initWeights(config: ModelConfig, seed: number): { weights: Map<string, WeightData>; parameters: number } {
  const rng = new Rng(seed);
  const weights = new Map<string, WeightData>();
  let parameters = 0;
  // Sorted names: the draw order, and so the bytes, do not depend on Map insertion order.
  for (const [name, shape] of [...expectedWeights(config)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = /(ln_\d|ln_f|layernorm|norm)\.weight$/.test(name);
    if (isNorm) data.fill(1);
    else if (!name.endsWith('.bias')) {
      // GPT-2 scales residual projections by 1/sqrt(2 * n_layer) (its _init_weights).
      const std = config.family === 'gpt2' && name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * config.numLayers) : 0.02;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    weights.set(name, { shape, data });
    parameters += n;
  }
  return { weights, parameters };
}

/** Writes the model folder. */
export function makeTinyModel(outDir: string, options: TinyModelOptions): { vocabSize: number; parameters: number } {
  const tok = byteLevelTokenizerFiles(options.words);
  const vocabSize = options.vocab ?? tok.size;
  if (vocabSize < tok.size) throw new Error(`--vocab ${vocabSize} is smaller than the byte-level tokenizer's ${tok.size} tokens`);
  const config = parseModelConfig(tinyModelConfig(options, vocabSize), 'tiny model config');
  const { weights, parameters } = initWeights(config, options.seed);
  saveWeights(outDir, config, weights);
  fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(tok.tokenizer) + '\n');
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(tok.config, null, 2) + '\n');
  fs.writeFileSync(
    path.join(outDir, 'generation_config.json'),
    JSON.stringify({ bos_token_id: 256, eos_token_id: 256, _from_model_config: true }, null, 2) + '\n',
  );
  return { vocabSize, parameters };
}
