// Fused causal attention as one tfjs op with a custom gradient, running our own wasm SIMD kernel
// (kernels/attention.ts) on the wasm and cpu backends, on as many threads as wasm's products use
// (attention-threads.ts), and our WGSL kernels on webgpu (attention-webgpu.ts). Not used on native
// backends, or for head dims that are not a multiple of 4: fusedAttention returns undefined there and
// the caller keeps its tfjs ops. DPO_FUSED_ATTENTION=0 turns it off.
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64, WASM_FMA_BASE64 } from './attention-wasm';
import { KernelBuild } from './wasm-kernel';
import { ATTENTION_POOL } from './attention-threads';
import { SharedKernel } from './shared-kernel';
import { webgpuAttention, webgpuAttentionApplies } from './attention-webgpu';

interface KernelExports {
  heapBase(): number;
  blockRows(): number;
  blockKeys(): number;
  workFloats(T: number, Tk: number, hd: number, backward: boolean): number;
  forward(...args: number[]): void;
  backward(...args: number[]): void;
}

export interface AttentionOptions {
  /** Multiplies q·k (1/√hd, or Gemma's query_pre_attn_scalar^-0.5). */
  scale: number;
  /** Sliding window (keys with position − key ≥ window are hidden); 0 for none. */
  window?: number;
  /** Gemma 2's attention soft-capping: scores = softcap·tanh(scores/softcap) before the mask. */
  softcap?: number;
}

let enabledOverride: boolean | undefined;
/** The kernel on one shared memory (the FMA build gains ~1.5× on the tiles' products where the runtime has it). */
const kernel = new SharedKernel<KernelExports>({
  plainBase64: WASM_BASE64,
  fmaBase64: WASM_FMA_BASE64,
  threadsEnv: 'DPO_FUSED_ATTENTION_THREADS',
  /**
   * Below this many multiply-adds (4·B·H·T·Tk·hd) one thread does the op (generation's one-token
   * steps, tiny models): handing out units cost 0.2–0.4 ms of CPU a forward+backward at 4–8 M here
   * (10–20% of ops that small).
   */
  minThreadedWork: 1 << 24,
  pool: ATTENTION_POOL,
});

/** Sets the kernel's thread count (tests, benchmarks); undefined: the wasm backend's own count. */
export function setFusedAttentionThreads(threads: number | undefined): void {
  kernel.threadsOverride = threads;
}

/** Stops the kernel's worker threads (they are unref'd, so the process's exit does it too). */
export function closeFusedAttentionThreads(): void {
  kernel.closeThreads();
}

/** As many threads as wasm's products use (src/engine/wasm-threads.ts decides); 1 on cpu. DPO_FUSED_ATTENTION_THREADS=N forces N. */
function threadCount(work: number): number {
  return kernel.threadCount(work, tf.getBackend());
}

/** Runs units 0..n−1 of one pass on `threads` threads (this one included); args[workArg] is the work area, workBytes a thread. */
function runUnits(fn: 'forward' | 'backward', n: number, threads: number, args: number[], workArg: number, workBytes: number): void {
  const k = kernel.exports;
  if (threads <= 1 || n < 2) {
    for (let u = 0; u < n; u++) k[fn](...args, u);
    return;
  }
  kernel.threads(threads).runUnits(k, fn, n, args, workArg, workBytes);
}

/** Which build of the kernel runs in this process: with fused multiply-add (relaxed SIMD) or plain SIMD. */
export function fusedAttentionBuild(): KernelBuild {
  return kernel.build;
}

/** Turns the fused op on or off for this process (benchmarks and tests); undefined: back to DPO_FUSED_ATTENTION. */
export function setFusedAttention(enabled: boolean | undefined): void {
  enabledOverride = enabled;
}

export function fusedAttentionEnabled(): boolean {
  if (enabledOverride !== undefined) return enabledOverride;
  return process.env.DPO_FUSED_ATTENTION !== '0';
}

/** Whether the fused op handles this call; the caller's tfjs path runs otherwise. */
export function fusedAttentionApplies(q: tf.Tensor4D, k: tf.Tensor4D, options: AttentionOptions): boolean {
  const backend = tf.getBackend();
  if (backend === 'webgpu') return fusedAttentionEnabled() && webgpuAttentionApplies(q, k, options);
  if (!fusedAttentionEnabled() || (backend !== 'wasm' && backend !== 'cpu')) return false;
  const [, H, T, hd] = q.shape;
  const [, KV, Tk] = k.shape;
  const capOk = options.softcap === undefined || options.softcap > 0;
  return capOk && hd % 4 === 0 && H % KV === 0 && Tk >= T && q.dtype === 'float32' && k.dtype === 'float32';
}

/** Float offsets of each region in the kernel's memory, growing it to fit. */
function layout(sizes: number[]): { k: KernelExports; offsets: number[]; f32: Float32Array } {
  const k = kernel.exports;
  const mem = kernel.memory;
  const base = Math.ceil(k.heapBase() / 16) * 16;
  const offsets: number[] = [];
  let at = base / 4;
  for (const n of sizes) {
    offsets.push(at);
    at += Math.ceil(n / 4) * 4; // 16-byte aligned regions
  }
  const need = at * 4 - mem.buffer.byteLength;
  if (need > 0) {
    try {
      mem.grow(Math.ceil(need / 65536));
    } catch (err) {
      throw new Error(
        `fused attention needs ${(at * 4) / 2 ** 30} GiB of wasm memory, more than is available: set DPO_FUSED_ATTENTION=0 or shorten the sequences`,
        { cause: err },
      );
    }
  }
  return { k, offsets, f32: new Float32Array(mem.buffer) };
}

/**
 * softmax(scale·q·kᵀ + causal mask)·v for q [B, H, T, hd] and k, v [B, KV, Tk, hd] (H a multiple
 * of KV; query i at position Tk − T + i), returned as [B, T, H·hd], the layout the output
 * projection reads. Undefined when fusedAttentionApplies is false.
 */
export function fusedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: AttentionOptions): tf.Tensor3D | undefined {
  if (!fusedAttentionApplies(q, k, options)) return undefined;
  if (tf.getBackend() === 'webgpu') return webgpuAttention(q, k, v, options);
  const [B, H, T, hd] = q.shape;
  const [, KV, Tk] = k.shape;
  const dims = [B, H, KV, T, Tk, hd, Tk - T, options.window ?? 0, Math.fround(options.softcap ?? 0), Math.fround(options.scale)];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, ki, vi] = args as tf.Tensor4D[];
    const save = args[3] as tf.GradSaveFunc;
    const { out, lse } = runForward(dims, qi, ki, vi);
    const value = tf.tensor3d(out, [B, T, H * hd]);
    // Only these are kept for the backward pass: the inputs, the output and one float per query row.
    save([qi, ki, vi, value, tf.tensor1d(lse)]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const grads = runBackward(dims, saved, dy);
        return [tf.tensor4d(grads.dq, q.shape), tf.tensor4d(grads.dk, k.shape), tf.tensor4d(grads.dv, v.shape)];
      },
    };
  });
  return op(q, k, v) as tf.Tensor3D;
}

function runForward(dims: number[], q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): { out: Float32Array; lse: Float32Array } {
  const [B, H, KV, T, Tk, hd] = dims;
  const kern = kernel.exports;
  const threads = threadCount(4 * B * H * T * Tk * hd);
  // Units are (sequence, kv head, query chunk): query chunks only when there are too few pairs to
  // keep every thread busy (four units a thread, as causal rows differ in cost).
  const br = kern.blockRows();
  const blocks = Math.ceil(T / br);
  const chunks = threads > 1 ? Math.min(blocks, Math.ceil((4 * threads) / (B * KV))) : 1;
  const chunk = Math.ceil(blocks / chunks) * br;
  const workFloats = Math.ceil(kern.workFloats(T, Tk, hd, false) / 4) * 4;
  const { offsets, f32 } = layout([q.size, k.size, v.size, q.size, B * H * T, workFloats * threads]);
  const [qo, ko, vo, oo, lo, wo] = offsets;
  f32.set(q.dataSync() as Float32Array, qo);
  f32.set(k.dataSync() as Float32Array, ko);
  f32.set(v.dataSync() as Float32Array, vo);
  const units = B * KV * Math.ceil(T / chunk);
  runUnits('forward', units, threads, [...dims, qo * 4, ko * 4, vo * 4, oo * 4, lo * 4, wo * 4, chunk], dims.length + 5, workFloats * 4);
  return { out: f32.slice(oo, oo + q.size), lse: f32.slice(lo, lo + B * H * T) };
}

function runBackward(dims: number[], saved: tf.Tensor[], dy: tf.Tensor): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const [B, H, KV, T, Tk, hd] = dims;
  const [q, k, v, out, lse] = saved;
  const kern = kernel.exports;
  // Units are (sequence, kv head, key range): each owns its rows of dk and dv. Key ranges only when
  // there are too few pairs to keep every thread busy; each range then writes its own part of dq,
  // summed here (the one place the threaded result's rounding can differ from one thread's).
  const threads = threadCount(4 * B * H * T * Tk * hd);
  const keyBlocks = Math.ceil(Tk / kern.blockKeys());
  const ranges = threads > 1 ? Math.min(keyBlocks, Math.ceil((4 * threads) / (B * KV))) : 1;
  const keyChunk = Math.ceil(keyBlocks / ranges) * kern.blockKeys();
  const parts = Math.ceil(Tk / keyChunk);
  const workFloats = Math.ceil(kern.workFloats(T, Tk, hd, true) / 4) * 4;
  const sizes = [q.size, k.size, v.size, out.size, lse.size, dy.size, q.size * parts, k.size, v.size, workFloats * threads];
  const { offsets, f32 } = layout(sizes);
  [q, k, v, out, lse, dy].forEach((t, i) => f32.set(t.dataSync() as Float32Array, offsets[i]));
  const args = [...dims, ...offsets.map((o) => o * 4), keyChunk];
  runUnits('backward', B * KV * parts, threads, args, args.length - 2, workFloats * 4);
  const [dqo, dko, dvo] = offsets.slice(6, 9);
  const dq = f32.slice(dqo, dqo + q.size);
  for (let p = 1; p < parts; p++) {
    const part = f32.subarray(dqo + p * q.size, dqo + (p + 1) * q.size);
    for (let i = 0; i < dq.length; i++) dq[i] += part[i];
  }
  return { dq, dk: f32.slice(dko, dko + k.size), dv: f32.slice(dvo, dvo + v.size) };
}
