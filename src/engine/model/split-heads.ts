// GPT-2's fused q/k/v projection [B, T, 3·H·hd] split into three [B, H, T, hd] tensors. tf.split
// on the last axis is three tfjs-wasm slices, each of which copies the whole input to JS first
// (4-5% of a forward-only pass on the tiny model), then a transpose per part; here each part is
// read from a view of the input and written in the heads layout directly. Same values, bit for bit.
import * as tf from '@tensorflow/tfjs';
import { takeRowsOnHost } from './take-rows';
import { tensorFloats } from '../kernels/wasm-kernel';

/** x [B, T, parts·heads·hd] -> `parts` tensors [B, heads, T, hd], part p from the p-th third (for 3) of the last axis. */
export function splitHeadsParts(x: tf.Tensor3D, parts: number, heads: number, hd: number): tf.Tensor4D[] {
  const [B, T] = x.shape;
  if (!takeRowsOnHost() || x.dtype !== 'float32')
    return tf.split(x, parts, 2).map((t) => tf.transpose(tf.reshape(t, [B, T, heads, hd]), [0, 2, 1, 3]) as tf.Tensor4D);
  return Array.from({ length: parts }, (_, p) => partHeads(x, p, parts, heads, hd));
}

function partHeads(x: tf.Tensor3D, p: number, parts: number, H: number, hd: number): tf.Tensor4D {
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor3D;
    const [B, T, W] = xIn.shape;
    const D = H * hd;
    const out = new Float32Array(B * H * T * hd);
    const src = tensorFloats(xIn);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++) {
        let o = (b * H + h) * T * hd;
        for (let t = 0; t < T; t++) {
          const s = (b * T + t) * W + p * D + h * hd;
          for (let i = 0; i < hd; i++) out[o++] = src[s + i];
        }
      }
    const value = tf.tensor4d(out, [B, H, T, hd]);
    // The input's gradient: dy back in [B, T, D] and placed in part p's columns, zeros elsewhere
    // (the tape adds the three parts' gradients; x + 0 is exact, so this is the concat's gradient).
    const gradFunc = (dy: tf.Tensor) =>
      tf.tidy(() => {
        const back = tf.reshape(tf.transpose(dy, [0, 2, 1, 3]), [B, T, D]);
        return parts === 1
          ? back
          : tf.pad(back, [
              [0, 0],
              [0, 0],
              [p * D, (parts - 1 - p) * D],
            ]);
      });
    return { value, gradFunc };
  });
  return fn(x) as tf.Tensor4D;
}
