// Host side of our element-wise kernel (kernels/elementwise.ts): GELU (tanh approximation),
// LayerNorm and RMSNorm forward and backward, each one pass over the activations where tfjs's
// graph makes 5-9 (and autodiff about as many again). Plain functions from tensors to new tensors
// with no gradient of their own: elementwise-ops.ts wraps them in custom gradients.
// Data moves as gemm.ts's does: the input's floats (a view of the wasm backend's heap, no copy
// there) are copied into the kernel's memory, the kernel works in place, and the result is copied
// back as a new tensor: two copies per call, the least two separate wasm memories allow.
// DPO_FUSED_ELEMENTWISE=0 turns it off (tfjs's ops then, as on webgpu and other backends).
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64, WASM_FMA_BASE64 } from './elementwise-wasm';
import { KernelBuild, tensorFloats } from './wasm-kernel';
import { SharedKernel } from './shared-kernel';

interface KernelExports {
  heapBase(): number;
  geluForward(x: number, n: number): void;
  geluBackward(x: number, dy: number, n: number): void;
  normForward(x: number, rows: number, d: number, w: number, b: number, eps: number, rms: number, mean: number, rstd: number): void;
  normBackward(x: number, dy: number, rows: number, d: number, w: number, rms: number, mean: number, rstd: number, dw: number, db: number): void;
}

export const FUSED_ELEMENTWISE_ENV = 'DPO_FUSED_ELEMENTWISE';

/** Inputs past this many floats stay on tfjs's ops: our memory never shrinks (256 MiB for GELU's backward). */
const MAX_FLOATS = 2 ** 25;

/**
 * Held like gemm.ts's kernel (one module on a shared memory, FMA or plain build), but always run on
 * one thread: at the model's sizes a pass takes well under a millisecond, and the threading rule
 * never starts a pool (minThreadedWork is infinite; the pool spec only satisfies SharedKernel).
 */
const kernel = new SharedKernel<KernelExports>({
  plainBase64: WASM_BASE64,
  fmaBase64: WASM_FMA_BASE64,
  threadsEnv: 'DPO_ELEMENTWISE_THREADS',
  minThreadedWork: Infinity,
  pool: { exports: [], what: 'element-wise', avoid: `${FUSED_ELEMENTWISE_ENV}=0` },
});

let enabledOverride: boolean | undefined;

/** Turns the kernel on or off for this process (tests, benchmarks); undefined: back to DPO_FUSED_ELEMENTWISE. */
export function setFusedElementwise(on: boolean | undefined): void {
  enabledOverride = on;
}

export function fusedElementwiseEnabled(): boolean {
  return enabledOverride ?? process.env[FUSED_ELEMENTWISE_ENV] !== '0';
}

/** Which build of the kernel runs in this process (FMA or plain SIMD). */
export function elementwiseBuild(): KernelBuild {
  return kernel.build;
}

/**
 * Whether the kernel takes `x` (GELU's input, or a norm's with weights of `width`): on, on the wasm
 * or cpu backend, float32, and the kernel's memory can hold the backward pass's buffers (growing it
 * now, so the backward never finds less room than its forward did).
 */
export function fusedElementwiseApplies(x: tf.Tensor, width?: number): boolean {
  const backend = tf.getBackend();
  if (!fusedElementwiseEnabled() || (backend !== 'wasm' && backend !== 'cpu') || x.dtype !== 'float32') return false;
  if (x.size === 0 || x.size > MAX_FLOATS || width === 0) return false;
  const sizes = width === undefined ? [x.size, x.size] : normSizes(x.size, width, true);
  return layout(sizes) !== undefined;
}

/** Buffers of a norm's call: x (y or dx in place), w, b, mean, rstd, and for the backward dy, dw, db. */
function normSizes(size: number, d: number, backward: boolean): number[] {
  const rows = size / d;
  return backward ? [size, d, d, rows, rows, size, d, d] : [size, d, d, rows, rows];
}

/** 16-byte aligned offsets (in floats) of buffers of these sizes, growing the memory to hold them; undefined if it cannot. */
function layout(sizes: number[]): number[] | undefined {
  let at = Math.ceil(kernel.exports.heapBase() / 16) * 16;
  const offsets = sizes.map((n) => {
    const o = at;
    at += Math.ceil((n * 4) / 16) * 16;
    return o / 4;
  });
  const need = at - kernel.memory.buffer.byteLength;
  if (need > 0) {
    try {
      kernel.memory.grow(Math.ceil(need / 65536));
    } catch {
      return undefined;
    }
  }
  return offsets;
}

function placed(sizes: number[]): { f32: Float32Array; at: number[] } {
  const at = layout(sizes);
  if (!at) throw new Error('element-wise kernel: no memory for a call its check accepted');
  return { f32: new Float32Array(kernel.memory.buffer), at };
}

/** A new tensor of the n floats at `offset`: the wasm backend copies them into its heap at once; the cpu backend keeps the array. */
function result(f32: Float32Array, offset: number, n: number, shape: number[]): tf.Tensor {
  const out = f32.subarray(offset, offset + n);
  return tf.tensor(tf.getBackend() === 'wasm' ? out : out.slice(), shape);
}

/** gelu(x), the tanh approximation. */
export function geluForward(x: tf.Tensor): tf.Tensor {
  const { f32, at } = placed([x.size]);
  f32.set(tensorFloats(x), at[0]);
  kernel.exports.geluForward(at[0] * 4, x.size);
  return result(f32, at[0], x.size, x.shape);
}

/** dy·gelu'(x). */
export function geluBackward(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const { f32, at } = placed([x.size, x.size]);
  f32.set(tensorFloats(x), at[0]);
  f32.set(tensorFloats(dy), at[1]);
  kernel.exports.geluBackward(at[0] * 4, at[1] * 4, x.size);
  return result(f32, at[1], x.size, x.shape);
}

/** How a norm scales: LayerNorm (w and b), RMSNorm (w), or Gemma's RMSNorm (1 + w). */
export interface NormSpec {
  rms: boolean;
  unitOffset: boolean;
  eps: number;
}

/** The norm's scale as the kernel reads it: w, or 1 + w for Gemma's unit offset. */
function putScale(f32: Float32Array, offset: number, w: tf.Tensor1D, spec: NormSpec): void {
  const values = tensorFloats(w);
  if (!spec.unitOffset) return f32.set(values, offset);
  for (let i = 0; i < values.length; i++) f32[offset + i] = 1 + values[i];
}

/** The norm over x's last axis: y, and per row the mean (LayerNorm) and 1/√(var + eps) the backward needs. */
export function normForward(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D | undefined, spec: NormSpec): { y: tf.Tensor; mean: tf.Tensor1D; rstd: tf.Tensor1D } {
  const d = w.shape[0];
  const rows = x.size / d;
  const { f32, at } = placed(normSizes(x.size, d, false));
  const [xo, wo, bo, mo, ro] = at;
  f32.set(tensorFloats(x), xo);
  putScale(f32, wo, w, spec);
  if (b) f32.set(tensorFloats(b), bo);
  kernel.exports.normForward(xo * 4, rows, d, wo * 4, bo * 4, spec.eps, spec.rms ? 1 : 0, mo * 4, ro * 4);
  return {
    y: result(f32, xo, x.size, x.shape),
    mean: result(f32, mo, rows, [rows]) as tf.Tensor1D,
    rstd: result(f32, ro, rows, [rows]) as tf.Tensor1D,
  };
}

/** dx, dw and (LayerNorm) db of the norm from dy and what normForward saved. */
export function normBackward(
  x: tf.Tensor,
  dy: tf.Tensor,
  w: tf.Tensor1D,
  saved: { mean?: tf.Tensor1D; rstd: tf.Tensor1D },
  spec: NormSpec,
): { dx: tf.Tensor; dw: tf.Tensor1D; db?: tf.Tensor1D } {
  const d = w.shape[0];
  const rows = x.size / d;
  const { f32, at } = placed(normSizes(x.size, d, true));
  const [xo, wo, , mo, ro, dyo, dwo, dbo] = at;
  f32.set(tensorFloats(x), xo);
  putScale(f32, wo, w, spec);
  if (saved.mean) f32.set(tensorFloats(saved.mean), mo);
  f32.set(tensorFloats(saved.rstd), ro);
  f32.set(tensorFloats(dy), dyo);
  kernel.exports.normBackward(xo * 4, dyo * 4, rows, d, wo * 4, spec.rms ? 1 : 0, mo * 4, ro * 4, dwo * 4, dbo * 4);
  return {
    dx: result(f32, dyo, x.size, x.shape),
    dw: result(f32, dwo, d, [d]) as tf.Tensor1D,
    db: spec.rms ? undefined : (result(f32, dbo, d, [d]) as tf.Tensor1D),
  };
}
