// Transformer building blocks written from ops that have both a forward kernel and a gradient
// on every backend we run on, wasm included (see the tests in test/unit/engine/wasm-ops.test.ts).
import * as tf from '@tensorflow/tfjs';
import { product } from '../kernels/gemm';
import { fusedElementwiseApplies } from '../kernels/elementwise';
import { fusedGelu, fusedLayerNorm, fusedRmsNorm } from '../kernels/elementwise-ops';
import { takeRows } from './take-rows';

/**
 * Rows of `table` [V, D] at `ids` [N] -> [N, D]. tf.gather's gradient needs the
 * UnsortedSegmentSum kernel, which the wasm backend lacks; scatterND sums duplicate indices on
 * every backend, so it computes the same scatter-add of the incoming gradient into [V, D].
 * WebGPU has UnsortedSegmentSum, so there tf.gather keeps its own gradient (tfjs's tested path;
 * both kernels add floats on the GPU with a compare-exchange loop, as WGSL has no float atomics).
 */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (tf.getBackend() === 'webgpu') return tf.gather(table, ids) as tf.Tensor2D;
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    // The ids must be saved: gradients() tidies the forward pass, so a tensor only captured by
    // this closure would be disposed before the backward pass runs.
    save([ids]);
    const value = takeRows(t, ids); // tf.gather's values, copied a row at a time (take-rows.ts)
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0], 1), dy, t.shape);
    return { value, gradFunc };
  });
  return fn(table) as tf.Tensor2D;
}

/**
 * Matrix product for rank 2-4 tensors. On wasm (and cpu) a product with a transposed operand runs
 * 5-12x slower than a plain one (measured: 1024x256x768 takes 40 ms plain, 180-490 ms transposed),
 * and tf.matMul's own gradient always uses transposed products. So on those backends transposes are
 * made explicit, and the gradient is written with plain products too.
 */
export function matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return tf.matMul(a, b, transposeA, transposeB);
  return plainMatmul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
}

function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return tf.transpose(x, perm);
}

/**
 * a @ b with both gradients as plain products: da = dy @ bᵀ, db = aᵀ @ dy. Same batch dims. 2-D
 * products (conv1d's) go through kernels/gemm's `product`, which folds the transposes into our own
 * kernel where it is the faster one.
 */
const plainMatmul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as tf.Tensor[];
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  if (a.rank === 2 && b.rank === 2) {
    return {
      value: product(a as tf.Tensor2D, b as tf.Tensor2D, false, false),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb, d] = [saved[0], saved[1], dy] as tf.Tensor2D[];
        return [product(d, sb, false, true), product(sa, d, true, false)];
      },
    };
  }
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy, swapLast(saved[1])), tf.matMul(swapLast(saved[0]), dy)],
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * x @ Wᵀ for a weight W [out, in] (nn.Linear's layout, and the output head [V, D]), x: [N, in].
 * The transposed copy of W lives only inside the forward product, and both gradients are plain
 * products (dx = dy W, dW = dyᵀ x), so no [in, out] copy of a weight is kept for the backward
 * pass: for GPT-2-small's head that is 154 MB less at the peak, inside wasm's 4 GiB heap.
 */
export function matmulWeightT(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return tf.matMul(x, w, false, true);
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    save([xIn]); // the weight outlives the step; only the activation needs keeping
    return {
      // kernels/gemm's `product`: ours or XNNPACK with an explicit transpose, whichever is faster.
      value: product(xIn, wIn, false, true),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        product(dy as tf.Tensor2D, w, false, false),
        product(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, true, false),
      ],
    };
  });
  return fn(x, w) as tf.Tensor2D;
}

/**
 * log Σ exp(x) over the last axis, keeping dims out: [N, V] -> [N]. Its gradient is softmax(x)
 * directly; tf.logSumExp's goes through max()'s gradient, whose broadcast Equal is slow on wasm.
 */
export const logSumExpLast = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor2D;
  const save = args[1] as tf.GradSaveFunc;
  const m = tf.max(x, -1, true); // [N, 1], a constant shift for stability
  const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, m)), -1, true)), m); // [N, 1]
  save([x, lse]);
  return {
    value: tf.reshape(lse, [x.shape[0]]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.exp(tf.sub(saved[0], saved[1])), tf.expandDims(dy, 1)),
  };
}) as (x: tf.Tensor2D) => tf.Tensor1D;

/** y = x W + b with W in GPT-2's Conv1D layout [in, out]. x: [..., in]. */
export function conv1d(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const inDim = w.shape[0];
  const lead = x.shape.slice(0, -1);
  const y = tf.add(matmul(tf.reshape(x, [-1, inDim]), w), b); // [N, out]
  return tf.reshape(y, [...lead, w.shape[1]]);
}

/** y = x W^T (+ b) with W in nn.Linear's layout [out, in]. x: [..., in]. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const inDim = w.shape[1];
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = matmulWeightT(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w); // [N, out]
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...lead, w.shape[0]]);
}

/**
 * LayerNorm over the last axis. On wasm and cpu, our kernel (kernels/elementwise.ts) in one pass
 * each way unless DPO_FUSED_ELEMENTWISE=0; the ops below elsewhere (webgpu) and as its reference.
 */
export function layerNorm(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  if (fusedElementwiseApplies(x, w.shape[0])) return fusedLayerNorm(x, w, b, eps);
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true); // biased, as torch.nn.LayerNorm
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), w), b);
}

/** RMSNorm over the last axis; `unitOffset` scales by (1 + w) as Gemma stores its norm weights. Our kernel as layerNorm's. */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor1D, eps: number, unitOffset = false): tf.Tensor {
  if (fusedElementwiseApplies(x, w.shape[0])) return fusedRmsNorm(x, w, eps, unitOffset);
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), unitOffset ? tf.add(w, 1) : w);
}

/** Gemma 2's soft-capping: cap·tanh(x/cap), a smooth clamp of scores and logits to (−cap, cap). */
export function softcap(x: tf.Tensor, cap: number | undefined): tf.Tensor {
  return cap === undefined ? x : tf.mul(tf.tanh(tf.div(x, cap)), cap);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GPT-2's "gelu_new": the tanh approximation, 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))). Our kernel
 * as layerNorm's: tfjs-wasm's tanh alone was 15% of a forward pass of `small` (a scalar loop).
 */
export function geluNew(x: tf.Tensor): tf.Tensor {
  if (fusedElementwiseApplies(x)) return fusedGelu(x);
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), GELU_C); // x*x*x: Pow is 10x slower on wasm
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Llama's rotary embedding with HF's rotate_half convention: the head dimension is split in two
 * halves (not interleaved pairs). x: [B, H, T, hd]; cos, sin: [T, hd].
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}
