// What our wasm kernels' wrappers (attention.ts, gemm.ts) share: the slice of the WebAssembly API
// they use, the choice between a kernel's two builds, and the wasm backend's thread count. Not a
// kernel, and not the tfjs ops around them.
import * as v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs';

/** The slice of the WebAssembly API used here (tsconfig's lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

export const webAssembly = (): WasmApi => (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type KernelBuild = 'fma' | 'simd';

/** `DPO_KERNEL_BUILD`: `simd` forces the plain build, `fma` requires the relaxed-SIMD one; unset picks. */
export const KERNEL_BUILD_ENV = 'DPO_KERNEL_BUILD';

/**
 * The relaxed-SIMD build (fused multiply-add) where the runtime validates it, else plain SIMD.
 * Electron's and Node 22's V8 take relaxed SIMD; Node 20's V8 has it behind
 * --experimental-wasm-relaxed-simd, which is turned on here (V8 reads its wasm feature flags when a
 * module is validated or compiled, so setting it before our first kernel loads is enough) and then
 * the module is validated again. Detected, never assumed: a runtime that still refuses it gets the
 * plain build. The FMA build does a DPO step of `small` in 0.70-0.83x the CPU time (bench/RESULTS.md).
 */
export function pickKernelBuild(plainBase64: string, fmaBase64: string): { build: KernelBuild; bytes: Uint8Array } {
  const plain = { build: 'simd' as const, bytes: Buffer.from(plainBase64, 'base64') };
  const wanted = process.env[KERNEL_BUILD_ENV];
  if (wanted !== undefined && wanted !== '' && wanted !== 'simd' && wanted !== 'fma') {
    throw new Error(`${KERNEL_BUILD_ENV}=${JSON.stringify(wanted)}: use simd (the plain build), fma (relaxed SIMD), or leave it unset to pick`);
  }
  if (wanted === 'simd') return plain;
  const fma = Buffer.from(fmaBase64, 'base64');
  if (relaxedSimdValidates(fma)) return { build: 'fma', bytes: fma };
  if (wanted === 'fma')
    throw new Error(`${KERNEL_BUILD_ENV}=fma, but this runtime (Node ${process.versions.node}, V8 ${process.versions.v8}) does not take relaxed SIMD`);
  return plain;
}

function relaxedSimdValidates(fma: Uint8Array): boolean {
  const wasm = webAssembly();
  if (wasm.validate(fma)) return true;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false; // a V8 that refuses the flag: the plain build
  }
  return wasm.validate(fma);
}

/** The threads wasm's products use (src/engine/wasm-threads.ts decides); 1 where the wasm backend is not up. */
export function wasmBackendThreads(): number {
  // Required when asked, not imported: importing the package registers the wasm backend as the
  // highest-priority one in every process that loads the engine's ops (backend.ts decides that).
  try {
    const wasmBackend = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    return Math.max(1, wasmBackend.getThreadsCount());
  } catch {
    return 1;
  }
}

/** A tensor's floats without a copy where the backend allows it (wasm: a view of its heap), else dataSync's copy. Read it after any tfjs call that may grow the heap: growing detaches earlier views. */
export function tensorFloats(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array };
  if (tf.getBackend() === 'wasm' && backend.typedArrayFromHeap) return backend.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}
