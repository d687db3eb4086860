// Text generation from a model, streamed token by token: with a KV cache (one position per step
// after the prompt) or, for comparison, a full forward pass per token. Stops at EOS, a stop
// string, the token limit, or when cancelled.
import * as tf from '@tensorflow/tfjs';
import { CausalLM, LayerCache } from '../model/transformer';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { matmulWeightT } from '../model/ops';
import { Rng } from '../rng';
import { SamplingOptions, logSoftmax, sampleToken } from './sampling';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed: number;
  stop: string[];
  /** false: recompute the whole sequence each step (for benchmarks and tests). */
  useCache: boolean;
}

export const DEFAULT_GENERATE: GenerateOptions = { maxNewTokens: 64, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [], useCache: true };

export interface GeneratedToken {
  id: number;
  /** Text this token added (may be empty while a multi-byte character is incomplete). */
  text: string;
  /** log π(token | prefix) under the model, before temperature and filtering. */
  logprob: number;
}

export type FinishReason = 'eos' | 'stop' | 'length' | 'cancelled' | 'context';

export interface Generation {
  ids: number[];
  text: string;
  tokens: GeneratedToken[];
  reason: FinishReason;
}

/** Logits [B, V] of the last position of hidden [B, T, D]. */
function lastLogits(model: CausalLM, hidden: tf.Tensor3D): tf.Tensor2D {
  const [B, T, D] = hidden.shape;
  const last = tf.reshape(tf.slice(hidden, [0, T - 1, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
  return model.capLogits(matmulWeightT(last, model.headWeight()));
}

/**
 * One step with the KV cache, inside a tf.tidy: feeds `ids` [B, T] after `past`, returns the last
 * position's logits [B, V] and the grown cache, kept past the tidy (`past` is disposed).
 */
export function cachedStep(model: CausalLM, ids: tf.Tensor2D, past: LayerCache[] | undefined): { logits: tf.Tensor2D; cache: LayerCache[] } {
  const r = model.forwardCached(ids, past);
  const cache = r.cache.map((l) => ({ k: tf.keep(l.k), v: tf.keep(l.v) }));
  if (past) for (const l of past) tf.dispose([l.k, l.v]);
  return { logits: lastLogits(model, r.hidden), cache };
}

export async function generate(
  model: CausalLM,
  tokenizer: TextTokenizer,
  promptIds: number[],
  options: Partial<GenerateOptions> = {},
  hooks: { onToken?: (t: GeneratedToken) => void; shouldStop?: () => boolean } = {},
): Promise<Generation> {
  const o = { ...DEFAULT_GENERATE, ...options };
  if (promptIds.length === 0) throw new Error('the prompt is empty: generation needs at least one token to start from');
  const rng = new Rng(o.seed);
  const ids: number[] = [];
  const tokens: GeneratedToken[] = [];
  let text = '';
  let streamed = '';
  let cache: LayerCache[] | undefined;
  let reason: FinishReason = 'length';
  try {
    for (let step = 0; step < o.maxNewTokens; step++) {
      if (hooks.shouldStop?.()) {
        reason = 'cancelled';
        break;
      }
      if (promptIds.length + ids.length >= model.config.maxPositions) {
        reason = 'context';
        break;
      }
      const logitsT = tf.tidy(() => {
        if (!o.useCache) {
          const all = [...promptIds, ...ids];
          return lastLogits(model, model.hidden(tf.tensor2d([all], [1, all.length], 'int32')));
        }
        const input = step === 0 ? promptIds : [ids[ids.length - 1]];
        const r = cachedStep(model, tf.tensor2d([input], [1, input.length], 'int32'), cache);
        cache = r.cache;
        return r.logits;
      });
      const logits = await logitsT.data();
      logitsT.dispose();
      const id = sampleToken(logits, o, rng);
      const logprob = logSoftmax(logits)[id];
      if (id === tokenizer.eosId) {
        reason = 'eos';
        break;
      }
      ids.push(id);
      const full = tokenizer.decode(ids, true);
      // A trailing U+FFFD may be a multi-byte character still incomplete: streamed once it settles,
      // so the pieces only ever append (their concatenation is a prefix of the final text).
      const settled = full.replace(/\uFFFD+$/, '');
      const piece = settled.startsWith(streamed) ? settled.slice(streamed.length) : '';
      if (piece) streamed = settled;
      text = full;
      const token = { id, text: piece, logprob };
      tokens.push(token);
      hooks.onToken?.(token);
      const hit = o.stop.map((s) => (s ? text.indexOf(s) : -1)).filter((i) => i >= 0);
      if (hit.length > 0) {
        text = text.slice(0, Math.min(...hit));
        reason = 'stop';
        break;
      }
      await new Promise(setImmediate); // let a cancel request in
    }
  } finally {
    if (cache) for (const l of cache) tf.dispose([l.k, l.v]);
  }
  return { ids, text, tokens, reason };
}
