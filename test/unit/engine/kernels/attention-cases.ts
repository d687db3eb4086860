// Shapes and helpers shared by the fused attention kernel's tests (attention.test.ts against the tfjs
// ops, attention-threads.test.ts against itself on one thread): random inputs, values and gradients.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../../src/engine/rng';

export interface Case {
  B: number;
  H: number;
  KV: number;
  T: number;
  past?: number;
  hd: number;
  window?: number;
  softcap?: number;
}

export function random(rng: Rng, shape: number[], spread = 1): tf.Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (rng.next() * 2 - 1) * spread;
  return tf.tensor(data, shape);
}

export function inputs(c: Case, seed: number) {
  const rng = new Rng(seed);
  const Tk = c.T + (c.past ?? 0);
  // Spread 2 makes the softmax peaked enough that a wrong mask or max shows.
  const q = random(rng, [c.B, c.H, c.T, c.hd], 2) as tf.Tensor4D;
  const k = random(rng, [c.B, c.KV, Tk, c.hd], 2) as tf.Tensor4D;
  const v = random(rng, [c.B, c.KV, Tk, c.hd]) as tf.Tensor4D;
  const w = random(rng, [c.B, c.T, c.H * c.hd]); // a loss that weights each output differently
  return { q, k, v, w };
}

export function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

export function valueAndGrads(
  f: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor3D,
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  w: tf.Tensor,
) {
  const out = tf.tidy(() => f(q, k, v));
  const [vq, vk, vv] = [q, k, v].map((t) => tf.variable(t)) as unknown as tf.Tensor4D[];
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(f(vq, vk, vv), w)) as tf.Scalar);
  const byName = (t: tf.Tensor) => grads[(t as unknown as tf.Variable).name];
  const result = { out, dq: byName(vq), dk: byName(vk), dv: byName(vv) };
  tf.dispose([vq, vk, vv]);
  return result;
}
