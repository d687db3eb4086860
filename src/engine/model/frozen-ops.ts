// Products with a frozen weight (the base model under LoRA): the gradient flows to the input only.
// ops.ts's conv1d/linear give the weight a gradient too, and a custom gradient computes all of its
// inputs' gradients at once, so a frozen weight would still cost a weight-sized product per layer
// in every backward pass. Here the weight is captured, not an input: it outlives the step.
import * as tf from '@tensorflow/tfjs';
import { product } from '../kernels/gemm';

/** x [N, in] times a frozen weight w; `layout` says how w is stored: 'in-out' (Conv1D) or 'out-in' (nn.Linear). */
function frozenProduct(x: tf.Tensor2D, w: tf.Tensor2D, layout: 'in-out' | 'out-in'): tf.Tensor2D {
  // kernels/gemm's `product`: ours or tfjs's (with the transpose explicit on wasm and cpu, where a
  // transposed operand is 5-12x slower: ops.ts), whichever measured faster.
  const times = (a: tf.Tensor2D, transposeW: boolean) => product(a, w, false, transposeW);
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor2D;
    // Forward: x W (in-out) or x Wᵀ (out-in); backward: dy Wᵀ or dy W.
    return { value: times(xIn, layout === 'out-in'), gradFunc: (dy: tf.Tensor) => times(dy as tf.Tensor2D, layout === 'in-out') };
  });
  return fn(x) as tf.Tensor2D;
}

/** GPT-2's Conv1D, y = x W + b with W [in, out] frozen. x: [..., in]. */
export function frozenConv1d(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.add(frozenProduct(tf.reshape(x, [-1, w.shape[0]]) as tf.Tensor2D, w, 'in-out'), b); // [N, out]
  return tf.reshape(y, [...lead, w.shape[1]]);
}

/** nn.Linear, y = x Wᵀ (+ b) with W [out, in] frozen. x: [..., in]. */
export function frozenLinear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = frozenProduct(tf.reshape(x, [-1, w.shape[1]]) as tf.Tensor2D, w, 'out-in'); // [N, out]
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...lead, w.shape[0]]);
}
