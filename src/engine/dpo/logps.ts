// log π(y|x): the SUM of the response tokens' log-probabilities (prompt and padding masked), the
// quantity the DPO loss is built on (as in the paper's code, not a per-token mean).
import * as tf from '@tensorflow/tfjs';
import { CausalLM } from '../model/transformer';
import { gatherRows, logSumExpLast, matmulWeightT } from '../model/ops';
import { SequenceBatch } from '../data/batch';

/**
 * Per-token log-probs [B, T-1]: entry t is log p(ids[t+1] | ids[..t]). The target logit is a dot
 * product with the target's row of the head (a gather whose gradient works on wasm), so no one-hot
 * [N, V] tensor is built; the normaliser is the log-sum-exp of the full logits.
 */
export function tokenLogps(model: CausalLM, ids: tf.Tensor2D): tf.Tensor2D {
  return tokenLogpsAndLogitMeans(model, ids).logps;
}

/**
 * tokenLogps, plus the mean over the vocabulary of each position's logits [B, T-1] (TRL's
 * logits/chosen|rejected average these over response tokens; a metric, so no gradient).
 */
export function tokenLogpsAndLogitMeans(model: CausalLM, ids: tf.Tensor2D): { logps: tf.Tensor2D; logitMeans: tf.Tensor2D } {
  const [B, T] = ids.shape;
  const D = model.config.hiddenSize;
  const h = model.hidden(ids); // [B, T, D]
  const hPrev = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, D]), [B * (T - 1), D]); // [N, D]
  const targets = tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [B * (T - 1)]) as tf.Tensor1D; // [N]
  const head = model.headWeight(); // [V, D]
  const logits = model.capLogits(matmulWeightT(hPrev as tf.Tensor2D, head)); // [N, V]
  const lse = logSumExpLast(logits); // [N]
  const targetLogit = model.capLogits(tf.sum(tf.mul(hPrev, gatherRows(head, targets)), 1)); // [N]
  const logitMeans = tf.reshape(tf.mean(logits, 1), [B, T - 1]) as tf.Tensor2D;
  return { logps: tf.reshape(tf.sub(targetLogit, lse), [B, T - 1]), logitMeans };
}

/** Summed response log-probs [B] for a collated batch (ids and mask as tensors). */
export function sequenceLogps(model: CausalLM, ids: tf.Tensor2D, responseMask: tf.Tensor2D): tf.Tensor1D {
  const [B, T] = ids.shape;
  const perToken = tokenLogps(model, ids); // [B, T-1]
  const mask = tf.slice(responseMask, [0, 1], [B, T - 1]); // a token at t is scored from position t-1
  return tf.sum(tf.mul(perToken, mask), 1) as tf.Tensor1D;
}

/** Summed response log-probs [B] and the summed logit means of the response positions [B]. */
export function sequenceLogpsAndLogits(model: CausalLM, ids: tf.Tensor2D, responseMask: tf.Tensor2D): { sums: tf.Tensor1D; logitSums: tf.Tensor1D } {
  const [B, T] = ids.shape;
  const { logps, logitMeans } = tokenLogpsAndLogitMeans(model, ids); // [B, T-1] each
  const mask = tf.slice(responseMask, [0, 1], [B, T - 1]);
  return { sums: tf.sum(tf.mul(logps, mask), 1) as tf.Tensor1D, logitSums: tf.sum(tf.mul(logitMeans, mask), 1) as tf.Tensor1D };
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
