// What our wasm kernels' wrappers (attention.ts, gemm.ts) share: the slice of the WebAssembly API
// they use, the choice between a kernel's two builds, and the wasm backend's thread count. Not a
// kernel, and not the tfjs ops around them.

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

/**
 * The relaxed-SIMD build (fused multiply-add) where the runtime validates it, else plain SIMD:
 * Electron's and Node 22's V8 take relaxed SIMD, Node 20's only with --experimental-wasm-relaxed-simd.
 * Detected, never assumed.
 */
export function pickKernelBuild(plainBase64: string, fmaBase64: string): { build: KernelBuild; bytes: Uint8Array } {
  const fma = Buffer.from(fmaBase64, 'base64');
  return webAssembly().validate(fma) ? { build: 'fma', bytes: fma } : { build: 'simd', bytes: Buffer.from(plainBase64, 'base64') };
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
