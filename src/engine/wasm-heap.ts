// Makes a failed allocation on tfjs-backend-wasm's heap an error instead of silent corruption. tfjs
// takes `_malloc`'s result as the tensor's address without checking it: when the heap cannot grow
// (wasm32: at most 4 GiB), malloc returns 0 and tfjs writes the tensor over the heap's start, and a
// later kernel traps or XNNPACK fails ("XNN status 6": out of memory). Not an allocator of our own.
import * as tf from '@tensorflow/tfjs';

interface WasmModule {
  _malloc: (bytes: number) => number;
  HEAPU8: Uint8Array;
}

/** What a failed malloc becomes; its text matches memory-plan.ts's isAllocatorFailure ("Out of memory"). */
export class WasmHeapExhausted extends RangeError {
  constructor(
    readonly requested: number,
    readonly heapBytes: number,
  ) {
    super(
      `Out of memory: the wasm heap could not grow to hold ${(requested / 2 ** 20).toFixed(1)} MiB more ` +
        `(the heap is at ${(heapBytes / 2 ** 30).toFixed(2)} GiB; wasm32 allows 4 GiB)`,
    );
    this.name = 'WasmHeapExhausted';
  }
}

const guarded = new WeakSet<WasmModule>();

/** Wraps `module._malloc` so that a 0 (failed) result throws WasmHeapExhausted. Idempotent. */
export function guardMalloc(module: WasmModule): void {
  if (guarded.has(module)) return;
  const malloc = module._malloc.bind(module);
  module._malloc = (bytes: number) => {
    const address = malloc(bytes);
    if (address === 0 && bytes > 0) throw new WasmHeapExhausted(bytes, module.HEAPU8.length);
    return address;
  };
  guarded.add(module);
}

/** Guards the wasm backend's module, when the current backend is wasm. */
export function guardWasmHeap(): void {
  if (tf.getBackend() !== 'wasm') return;
  const module = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (module) guardMalloc(module);
}
