// Fused causal attention on the webgpu backend: the same tfjs op with a custom gradient as
// kernels/attention.ts (which dispatches here when the backend is webgpu), running our WGSL kernels
// (attention-wgsl.ts) through tfjs-backend-webgpu's program API. No L×L tensor is made, forward or
// backward. Does not load the webgpu backend itself (webgpu.ts does) and holds no shader text.
import * as tf from '@tensorflow/tfjs';
import type { AttentionOptions } from './attention';
import { activeWebGpuAdapter } from '../webgpu';
import { ROWS_PER_WORKGROUP, UNIFORMS, VEC4_INPUTS, backwardKeyValueSource, backwardQuerySource, forwardSource, loopIterations } from './attention-wgsl';

/** The longest head dim the kernels take: each thread keeps four rows of hd floats in registers. */
export const MAX_WEBGPU_HEAD_DIM = 256;

/** Software adapters (llvmpipe) stop an invocation after 65535 loop iterations: stay below, with a margin. */
const SOFTWARE_LOOP_LIMIT = 60000;

/** What tfjs-backend-webgpu's runWebGPUProgram reads from a program (its WebGPUProgram interface). */
interface Program {
  variableNames: string[];
  variableComponents?: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  getUserCode: () => string;
}
type Uniform = { type: 'int32' | 'float32'; data: number[] };
/** The slice of tfjs-backend-webgpu's WebGPUBackend used here (the package is optional). */
interface WebGpuBackend {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], outputDtype: 'float32', uniforms?: Uniform[]): tf.TensorInfo;
}

/** Whether the WGSL op handles this call on the webgpu backend (the caller checks DPO_FUSED_ATTENTION). */
export function webgpuAttentionApplies(q: tf.Tensor4D, k: tf.Tensor4D, options: AttentionOptions): boolean {
  const [, H, T, hd] = q.shape;
  const [, KV, Tk] = k.shape;
  const fits = tf.getBackend() === 'webgpu' && q.dtype === 'float32' && k.dtype === 'float32';
  return fits && webgpuAttentionTakes({ heads: H, kvHeads: KV, T, Tk, hd, softcap: options.softcap }, activeWebGpuAdapter()?.software ?? false);
}

/**
 * Whether the WGSL kernels take attention of this shape: the same rule for the op and for the
 * memory preflight (device-limits.ts), which then does not count the scores tensor it never makes.
 */
export function webgpuAttentionTakes(
  s: { heads: number; kvHeads: number; T: number; Tk: number; hd: number; softcap?: number },
  softwareAdapter: boolean,
): boolean {
  const fits = s.softcap === undefined && s.hd % 4 === 0 && s.hd <= MAX_WEBGPU_HEAD_DIM && s.T >= 1 && s.heads % s.kvHeads === 0 && s.Tk >= s.T;
  // On a software adapter, long sequences go to tfjs's ops (whose kernels loop less per invocation).
  return fits && !(softwareAdapter && loopIterations(s.hd, s.T, s.Tk, s.heads / s.kvHeads) > SOFTWARE_LOOP_LIMIT);
}

interface Dims {
  B: number;
  H: number;
  KV: number;
  T: number;
  Tk: number;
  hd: number;
  uniforms: Uniform[];
}

/** Runs one of the three kernels; `rows` is the dimension split over workgroups (T or Tk), `heads` H or KV. */
function run(name: string, source: (hd: number) => string, inputs: tf.Tensor[], size: number, rows: number, heads: number, d: Dims): tf.Tensor1D {
  const program: Program = {
    variableNames: ['Q', 'K', 'V', 'DY', 'STATS'].slice(0, inputs.length),
    variableComponents: VEC4_INPUTS.slice(0, inputs.length),
    outputShape: [size],
    shaderKey: `dpoAttention${name}_${d.hd}`,
    // A 3-D layout (tile, head, batch) so that tfjs calls main() without a flat index.
    dispatchLayout: { x: [0], y: [1], z: [2] },
    dispatch: [Math.ceil(rows / ROWS_PER_WORKGROUP), heads, d.B],
    workgroupSize: [ROWS_PER_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    getUserCode: () => source(d.hd),
  };
  const backend = tf.backend() as unknown as WebGpuBackend;
  const info = backend.runWebGPUProgram(program, inputs, 'float32', d.uniforms);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor1D;
}

/**
 * softmax(scale·q·kᵀ + causal mask)·v for q [B, H, T, hd] and k, v [B, KV, Tk, hd], as [B, T, H·hd]
 * (kernels/attention.ts's fusedAttention, on webgpu). Call only where webgpuAttentionApplies.
 */
export function webgpuAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: AttentionOptions): tf.Tensor3D {
  const [B, H, T, hd] = q.shape;
  const [, KV, Tk] = k.shape;
  const d: Dims = {
    B,
    H,
    KV,
    T,
    Tk,
    hd,
    uniforms: [
      { type: 'int32', data: [B, H, KV, T] },
      { type: 'int32', data: [Tk, Tk - T, options.window ?? 0, 0] },
      { type: 'float32', data: [options.scale] },
    ],
  };
  const outSize = B * T * H * hd;
  const rowsQ = B * H * T;
  const kvSize = B * KV * Tk * hd;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, ki, vi] = args as tf.Tensor4D[];
    const save = args[3] as tf.GradSaveFunc;
    const packed = run('Forward', forwardSource, [qi, ki, vi], outSize + rowsQ, T, H, d);
    const value = tf.reshape(tf.slice(packed, 0, outSize), [B, T, H * hd]) as tf.Tensor3D;
    const lse = tf.slice(packed, outSize, rowsQ);
    packed.dispose();
    // Kept for the backward pass: the inputs, the output and one float per query row.
    save([qi, ki, vi, value, lse]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, out, slse] = saved;
        // delta = rowsum(dy·out) per (b, h, i), in [B, H, T] order: the softmax's backward term.
        const delta = tf.reshape(tf.transpose(tf.sum(tf.mul(tf.reshape(dy, [B, T, H, hd]), tf.reshape(out, [B, T, H, hd])), 3), [0, 2, 1]), [rowsQ]);
        const inputs = [sq, sk, sv, dy, tf.concat([slse, delta])];
        const dq = tf.reshape(run('BackwardQ', backwardQuerySource, inputs, rowsQ * hd, T, H, d), q.shape);
        const dkv = run('BackwardKV', backwardKeyValueSource, inputs, 2 * kvSize, Tk, KV, d);
        return [dq, tf.reshape(tf.slice(dkv, 0, kvSize), k.shape), tf.reshape(tf.slice(dkv, kvSize, kvSize), v.shape)];
      },
    };
  });
  return op(q, k, v) as tf.Tensor3D;
}
