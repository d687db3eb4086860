// log π(y|x): the SUM of the response tokens' log-probabilities (prompt and padding masked), the
// quantity the DPO loss is built on (as in the paper's code, not a per-token mean).
import * as tf from '@tensorflow/tfjs';
import { CausalLM } from '../model/transformer';
import { headLogps } from './head-logps';
import { SequenceBatch } from '../data/batch';

/**
 * Per-token log-probs [B, T-1]: entry t is log p(ids[t+1] | ids[..t]), every position scored (the
 * probe's per-token view); through the chunked head, so no [B*T, V] tensor is built.
 */
export function tokenLogps(model: CausalLM, ids: tf.Tensor2D, rowsPerChunk?: number): tf.Tensor2D {
  const [B, T] = ids.shape;
  const all = Array.from({ length: B }, () => [0, ...new Array<number>(T - 1).fill(1)]).flat();
  return tf.tidy(() => {
    const mask = tf.tensor2d(all, [B, T]);
    // Every position is scored, in row-major order: the [P] log-probs are the [B, T-1] grid.
    const { perPosition } = scoredPositions(model, ids, mask, rowsPerChunk);
    return tf.reshape(tf.slice(perPosition, [0, 0], [B * (T - 1), 1]), [B, T - 1]) as tf.Tensor2D;
  });
}

/**
 * The response positions of a batch (mask[b, t] != 0 for t >= 1: token t is scored from the hidden
 * state at t-1), their log-probs and logit means [P, 2] from the chunked head, and `weights` [B, P],
 * the mask value of each position in its row, which sums them per sequence.
 */
function scoredPositions(
  model: CausalLM,
  ids: tf.Tensor2D,
  responseMask: tf.Tensor2D,
  rowsPerChunk?: number,
): { perPosition: tf.Tensor2D; weights: tf.Tensor2D; positions: number[] } {
  const [B, T] = ids.shape;
  const D = model.config.hiddenSize;
  const idData = ids.dataSync();
  const maskData = responseMask.dataSync();
  const index: number[] = []; // flat row of the hidden state that scores each position
  const targets: number[] = [];
  const owner: number[] = []; // the sequence each position belongs to
  for (let b = 0; b < B; b++)
    for (let t = 1; t < T; t++) {
      if (maskData[b * T + t] === 0) continue;
      index.push(b * T + t - 1);
      targets.push(idData[b * T + t]);
      owner.push(b);
    }
  const P = index.length;
  const weights = new Float32Array(B * P);
  for (let p = 0; p < P; p++) weights[owner[p] * P + p] = maskData[index[p] + 1];
  const h = tf.reshape(model.hidden(ids), [B * T, D]) as tf.Tensor2D;
  const head = model.headWeight();
  if (P === 0) {
    // No response token: zero sums that still depend on every weight, so gradients are zeros, not missing.
    const zero = tf.mul(tf.add(tf.sum(h), tf.sum(head)), 0);
    return { perPosition: tf.add(tf.zeros([1, 2]), zero) as tf.Tensor2D, weights: tf.zeros([B, 1]), positions: [] };
  }
  const perPosition = headLogps(h, head, tf.tensor1d(index, 'int32'), tf.tensor1d(targets, 'int32'), model.config.finalSoftcap, rowsPerChunk);
  return { perPosition, weights: tf.tensor2d(weights, [B, P]), positions: index.map((i) => i + 1) };
}

/** Summed response log-probs [B] for a collated batch (ids and mask as tensors). */
export function sequenceLogps(model: CausalLM, ids: tf.Tensor2D, responseMask: tf.Tensor2D, rowsPerChunk?: number): tf.Tensor1D {
  return sequenceLogpsAndLogits(model, ids, responseMask, rowsPerChunk).sums;
}

/**
 * Summed response log-probs [B] and the summed vocabulary-mean logits of the response positions [B]
 * (TRL's logits/*). Only response positions reach the head, a chunk at a time (head-logps.ts).
 */
export function sequenceLogpsAndLogits(
  model: CausalLM,
  ids: tf.Tensor2D,
  responseMask: tf.Tensor2D,
  rowsPerChunk?: number,
): { sums: tf.Tensor1D; logitSums: tf.Tensor1D } {
  const { perPosition, weights } = scoredPositions(model, ids, responseMask, rowsPerChunk);
  const per = tf.matMul(weights, perPosition); // [B, 2]: per-row weighted sums of both columns
  const [B] = ids.shape;
  return {
    sums: tf.reshape(tf.slice(per, [0, 0], [B, 1]), [B]) as tf.Tensor1D,
    logitSums: tf.reshape(tf.slice(per, [0, 1], [B, 1]), [B]) as tf.Tensor1D,
  };
}

/**
 * sequenceLogpsAndLogits plus `fullSums` [B]: each row's log-probs summed over the positions of
 * `fullMask` (ORPO's NLL covers the prompt and the chosen response, not the response alone). One
 * pass through the head scores the union of both masks.
 */
export function sequenceLogpsWithFullSums(
  model: CausalLM,
  ids: tf.Tensor2D,
  responseMask: tf.Tensor2D,
  fullMask: tf.Tensor2D,
): { sums: tf.Tensor1D; logitSums: tf.Tensor1D; fullSums: tf.Tensor1D } {
  const [B] = ids.shape;
  const { perPosition, weights, positions } = scoredPositions(model, ids, tf.maximum(responseMask, fullMask) as tf.Tensor2D);
  const P = positions.length;
  const weightsOf = (mask: tf.Tensor2D) => {
    if (P === 0) return weights; // zeros: no position is scored
    const data = mask.dataSync();
    const w = new Float32Array(B * P);
    positions.forEach((pos, p) => (w[Math.floor(pos / ids.shape[1]) * P + p] = data[pos]));
    return tf.tensor2d(w, [B, P]);
  };
  const per = tf.matMul(weightsOf(responseMask), perPosition); // [B, 2]
  const full = tf.matMul(weightsOf(fullMask), perPosition); // [B, 2]
  return {
    sums: tf.reshape(tf.slice(per, [0, 0], [B, 1]), [B]) as tf.Tensor1D,
    logitSums: tf.reshape(tf.slice(per, [0, 1], [B, 1]), [B]) as tf.Tensor1D,
    fullSums: tf.reshape(tf.slice(full, [0, 0], [B, 1]), [B]) as tf.Tensor1D,
  };
}

export function batchTensors(batch: SequenceBatch): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  return {
    ids: tf.tensor2d(batch.ids, [batch.rows, batch.length], 'int32'),
    mask: tf.tensor2d(batch.responseMask, [batch.rows, batch.length], 'float32'),
  };
}

/** Summed response log-probs for a batch, no gradient; returns plain numbers. */
export async function computeSequenceLogps(model: CausalLM, batch: SequenceBatch): Promise<number[]> {
  const result = tf.tidy(() => {
    const { ids, mask } = batchTensors(batch);
    return sequenceLogps(model, ids, mask);
  });
  const values = Array.from(await result.data());
  result.dispose();
  return values;
}
