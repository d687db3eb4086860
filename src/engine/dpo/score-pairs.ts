// Forward-only scoring of preference pairs (what `dpo logps`, `dpo triage` and the reference
// precompute need): each pair's summed chosen and rejected response log-probs, no gradient. Not the
// training path: the DPO step keeps logps.ts, whose chunked head carries a custom gradient.
import * as tf from '@tensorflow/tfjs';
import { CausalLM } from '../model/transformer';
import { Sequence, collate, collatePairs } from '../data/batch';
import { chunkRows } from './head-logps';
import { computeSequenceLogps } from './logps';
import { wasmBackendThreads } from '../kernels/wasm-kernel';

export interface ScoredPair {
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
}

/**
 * 'sequences' (the default): the chosen and the rejected sequence of each pair are scored as
 * separate rows, all rows sorted by length and batched at most `2 × batchSize` at a time (fewer
 * when long: ACTIVATION_FLOATS), so a short rejected answer is not padded to its long chosen one;
 * the head scores response positions only.
 * 'per-row': the earlier path (one collated pair batch through logps.ts), kept to check the
 * new one against and to measure it (bench/triage-speed.ts).
 */
export type PairScorer = 'sequences' | 'per-row';

/**
 * Rows per forward pass are capped so that the widest activation stays near 2^18 floats (1 MiB):
 * on the tiny model (bench/triage-speed.ts) 4-8 rows of ~100 tokens scored 10-20% more pairs per
 * CPU-second than 16-32 rows, the working set staying in the core's cache. `batchSize` still caps it.
 */
export const ACTIVATION_FLOATS = 1 << 18;

/**
 * With wasm on 2+ threads the cap is 2^22 (so `batchSize` caps the rows): tfjs-wasm's threads wait
 * between ops, so fewer, larger forwards cost less CPU. Reference precompute, tiny model, 1000
 * pairs, 2 threads (bench/RESULTS.md, 2026-12-04, slice B2): 2^18 16.5 CPU-s, 2^20 11.3-13.1, 2^22 11.1-12.1.
 */
export const ACTIVATION_FLOATS_THREADED = 1 << 22;

/** The activation cap for the backend's thread count. */
export function defaultActivationFloats(): number {
  return tf.getBackend() === 'wasm' && wasmBackendThreads() > 1 ? ACTIVATION_FLOATS_THREADED : ACTIVATION_FLOATS;
}

export interface ScoreOptions {
  batchSize: number;
  padId: number;
  scorer?: PairScorer;
  /** A forward's widest activation ([rows, length, intermediate size]) is kept under this many floats; default defaultActivationFloats(). */
  activationFloats?: number;
  /** Head positions per chunk (default: chunkRows of the vocabulary); small in tests, to cross chunk edges. */
  rowsPerChunk?: number;
  /** Pairs whose both sequences are scored so far, of all. */
  onProgress?: (done: number, total: number) => void;
}

/** [chosen, rejected] summed response log-probs of each pair, in the order of `pairs`. */
export async function scorePairs(model: CausalLM, pairs: ScoredPair[], o: ScoreOptions): Promise<[number, number][]> {
  if (o.scorer === 'per-row') return scorePerRow(model, pairs, o);
  const out = pairs.map((): [number, number] => [0, 0]);
  const rows = pairRows(pairs);
  const pending = pairs.map(() => 2);
  let done = 0;
  // A transposed copy of the head for the whole call: products with a transposed operand are
  // 5-12x slower on wasm (ops.ts), and the head is the same for every batch.
  const headT = tf.tidy(() => tf.transpose(model.headWeight()) as tf.Tensor2D);
  try {
    for (const idx of rowBatches(model, rows, o.batchSize, o.activationFloats)) {
      const sums = scoreRows(
        model,
        headT,
        idx.map((i) => rows[i]),
        o.padId,
        o.rowsPerChunk ?? chunkRows(model.config.vocabSize),
      );
      idx.forEach((r, j) => {
        const pair = r >> 1;
        out[pair][r & 1] = sums[j];
        if (--pending[pair] === 0) done++;
      });
      o.onProgress?.(done, pairs.length);
      await new Promise(setImmediate); // lets a cancel or a progress write through between batches
    }
  } finally {
    headT.dispose();
  }
  return out;
}

const length = (s: { promptIds: number[]; responseIds: number[] }) => s.promptIds.length + s.responseIds.length;

/** Row 2i is pair i's chosen sequence, 2i+1 its rejected one. */
export function pairRows(pairs: ScoredPair[]): Sequence[] {
  return pairs.flatMap((p) => [
    { promptIds: p.promptIds, responseIds: p.chosenIds },
    { promptIds: p.promptIds, responseIds: p.rejectedIds },
  ]);
}

/**
 * Indices of `rows` in forward batches: sorted by length (ties by index), at most `2 × batchSize`
 * rows, fewer while rows × padded length × the model's widest activation passes `activationFloats`.
 */
export function* rowBatches(model: CausalLM, rows: Sequence[], batchSize: number, activationFloats = defaultActivationFloats()): Generator<number[]> {
  const order = rows.map((_, i) => i).sort((a, b) => length(rows[a]) - length(rows[b]) || a - b);
  const maxRows = Math.max(1, 2 * batchSize);
  const width = Math.max(model.config.intermediateSize, model.config.hiddenSize);
  for (let start = 0; start < order.length;) {
    // Rows are sorted by length, so the last one added sets the batch's padded length.
    let end = start + 1;
    while (end < order.length && end - start < maxRows && (end - start + 1) * length(rows[order[end]]) * width <= activationFloats) end++;
    yield order.slice(start, end);
    start = end;
  }
}

/**
 * Summed response log-probs of right-padded rows (causal attention: padding never reaches a real
 * token). The response positions are cut out of the hidden states on the JS side (one contiguous
 * run per row: cheaper than tfjs-wasm's gather), and each chunk's target logits are picked from
 * its logits, so no [rows × vocab] tensor is built past one chunk and nothing is kept for a gradient.
 */
function scoreRows(model: CausalLM, headT: tf.Tensor2D, seqs: { promptIds: number[]; responseIds: number[] }[], padId: number, rowsPerChunk: number): number[] {
  const batch = collate(seqs, padId);
  const T = batch.length;
  const D = model.config.hiddenSize;
  const V = model.config.vocabSize;
  const hidden = tf.tidy(() => {
    const ids = tf.tensor2d(batch.ids, [batch.rows, T], 'int32');
    return model.hidden(ids);
  });
  let h: Float32Array;
  try {
    h = hidden.dataSync() as Float32Array;
  } finally {
    hidden.dispose();
  }
  // Position p of row b is scored from the hidden state at p - 1. Token 0 has nothing before it:
  // with an empty prompt the response's first token is not scored (as in logps.ts).
  const skip = (s: { promptIds: number[] }) => (s.promptIds.length === 0 ? 1 : 0);
  const runs = seqs.map((s, b) => ({ from: b * T + s.promptIds.length + skip(s) - 1, count: s.responseIds.length - skip(s) }));
  const P = runs.reduce((n, r) => n + r.count, 0);
  const owner = new Int32Array(P);
  const targets = new Int32Array(P);
  let p = 0;
  seqs.forEach((s, b) => {
    for (let i = skip(s); i < s.responseIds.length; i++, p++) {
      owner[p] = b;
      targets[p] = s.responseIds[i];
    }
  });
  const sums = new Array<number>(seqs.length).fill(0);
  const picked = new Float32Array(Math.min(P, rowsPerChunk) * D);
  let run = 0;
  let inRun = 0;
  for (let start = 0; start < P; start += rowsPerChunk) {
    const C = Math.min(rowsPerChunk, P - start);
    for (let c = 0; c < C;) {
      while (inRun === runs[run].count) {
        run++;
        inRun = 0;
      }
      const n = Math.min(runs[run].count - inRun, C - c);
      const from = (runs[run].from + inRun) * D;
      picked.set(h.subarray(from, from + n * D), c * D);
      c += n;
      inRun += n;
    }
    const flatIndex = new Int32Array(C);
    for (let c = 0; c < C; c++) flatIndex[c] = c * V + targets[start + c];
    const [lse, target] = chunkLogits(picked.subarray(0, C * D), [C, D], headT, flatIndex, model.config.finalSoftcap);
    for (let c = 0; c < C; c++) sums[owner[start + c]] += target[c] - lse[c];
  }
  return sums;
}

/** logsumexp over the vocabulary [C] and the target logits [C] (at flatIndex of the flattened [C, V] logits) of hidden rows [C, D]. */
function chunkLogits(
  rows: Float32Array,
  shape: [number, number],
  headT: tf.Tensor2D,
  flatIndex: Int32Array,
  cap: number | undefined,
): [ArrayLike<number>, ArrayLike<number>] {
  const [C] = shape;
  const V = headT.shape[1];
  // Read inside the scope but returned outside it: tidy walks what it returns, element by element for arrays.
  let lse: ArrayLike<number> = [];
  let target: ArrayLike<number> = [];
  tf.tidy(() => {
    let logits: tf.Tensor2D = tf.matMul(tf.tensor2d(rows, shape), headT); // [C, V]
    if (cap !== undefined) logits = tf.mul(tf.tanh(tf.div(logits, cap)), cap);
    const m = tf.max(logits, -1, true);
    lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), -1, true)), m).dataSync() as Float32Array;
    target = tf.gather(tf.reshape(logits, [C * V]), tf.tensor1d(flatIndex, 'int32')).dataSync() as Float32Array;
  });
  return [lse, target];
}

async function scorePerRow(model: CausalLM, pairs: ScoredPair[], o: ScoreOptions): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for (let start = 0; start < pairs.length; start += o.batchSize) {
    const chunk = pairs.slice(start, start + o.batchSize);
    const logps = await computeSequenceLogps(model, collatePairs(chunk, o.padId));
    chunk.forEach((_, i) => out.push([logps[i], logps[chunk.length + i]]));
    o.onProgress?.(out.length, pairs.length);
    await new Promise(setImmediate);
  }
  return out;
}
