// Finiteness checks on weights: a NaN or Inf weight, loaded from a model folder or produced by an
// overflowing update, must be named and stop the work before anything is saved or trained on.
import * as tf from '@tensorflow/tfjs';

/** Index of the first NaN or ±Inf value, or -1. A plain loop: no tensors, usable on loaded bytes. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * The name of the first weight holding NaN or ±Inf, or undefined. One sum per weight in one tidy and
 * one read back: a non-finite value anywhere makes its weight's sum non-finite (so does a sum that
 * overflows float32, which means weights near 1e38: broken as well).
 */
export async function nonFiniteWeight(weights: Map<string, tf.Tensor>): Promise<string | undefined> {
  const names = [...weights.keys()];
  if (names.length === 0) return undefined;
  const sums = tf.tidy(() => tf.stack(names.map((n) => tf.sum(weights.get(n)!)))); // [numWeights]
  const values = await sums.data();
  sums.dispose();
  const i = values.findIndex((v) => !Number.isFinite(v));
  return i < 0 ? undefined : names[i];
}
