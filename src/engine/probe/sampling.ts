// Choosing the next token from logits: greedy, temperature, top-k and top-p (nucleus), with a
// seeded RNG so that a seed reproduces a sample. Plain float64 JS over one row of V logits.
import { Rng } from '../rng';

export interface SamplingOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens; 0 keeps all. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all. */
  topP: number;
}

/** log-softmax of a row, in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * The distribution sampling draws from, after temperature, top-k and top-p, as token ids with
 * probabilities summing to 1, most likely first. Ties at the top-k boundary keep the lower id.
 */
export function filteredDistribution(logits: ArrayLike<number>, o: SamplingOptions): { ids: number[]; probs: number[] } {
  const scaled = Array.from(logits, (l) => l / o.temperature);
  const logp = logSoftmax(scaled);
  let ids = Array.from(logp.keys()).sort((a, b) => logp[b] - logp[a] || a - b);
  if (o.topK > 0) ids = ids.slice(0, o.topK);
  let probs = ids.map((i) => Math.exp(logp[i]));
  if (o.topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < ids.length && cum < o.topP) cum += probs[keep++];
    ids = ids.slice(0, Math.max(1, keep));
    probs = probs.slice(0, ids.length);
  }
  const z = probs.reduce((a, b) => a + b, 0);
  return { ids, probs: probs.map((p) => p / z) };
}

/** The next token id. */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  if (o.temperature <= 0) return argmax(logits);
  const { ids, probs } = filteredDistribution(logits, o);
  let u = rng.next();
  for (let i = 0; i < ids.length; i++) {
    u -= probs[i];
    if (u < 0) return ids[i];
  }
  return ids[ids.length - 1];
}
