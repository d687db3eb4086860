// One of our wasm kernels as both wrappers (attention.ts, gemm.ts) hold it: its module on one shared
// memory (so worker threads can run the same module on it), instantiated on first use with the
// FMA or plain build, its thread count, and its worker pool. Not the kernel's units or memory layout.
import { KernelThreads, PoolNames } from './attention-threads';
import { KernelBuild, WasmMemory, pickKernelBuild, wasmBackendThreads, webAssembly } from './wasm-kernel';

export interface SharedKernelSpec {
  plainBase64: string;
  fmaBase64: string;
  /** Environment variable that forces N threads at every size (to run the engine's tests threaded). */
  threadsEnv: string;
  /** Below this many multiply-adds one thread does the work (handing out units costs more than it saves). */
  minThreadedWork: number;
  pool: PoolNames;
}

export class SharedKernel<E> {
  private loaded: { exports: E; build: KernelBuild; module: object; memory: WasmMemory } | undefined;
  private pool: KernelThreads | undefined;
  /** Tests and benchmarks: a fixed thread count; undefined: the rule in threadCount. */
  threadsOverride: number | undefined;

  constructor(private readonly spec: SharedKernelSpec) {}

  private load() {
    if (this.loaded) return this.loaded;
    const wasm = webAssembly();
    const { build, bytes } = pickKernelBuild(this.spec.plainBase64, this.spec.fmaBase64);
    // 65536 pages (4 GiB) is the maximum the module declares (scripts/build-kernels.mjs).
    const memory = new wasm.Memory({ initial: 1, maximum: 65536, shared: true });
    const module = new wasm.Module(bytes);
    this.loaded = { exports: new wasm.Instance(module, { env: { memory } }).exports as E, build, module, memory };
    return this.loaded;
  }

  get exports(): E {
    return this.load().exports;
  }

  get build(): KernelBuild {
    return this.load().build;
  }

  get memory(): WasmMemory {
    return this.load().memory;
  }

  /** Threads for `work` multiply-adds: the override, the forcing variable, or wasm's own count above the threshold. */
  threadCount(work: number, backend: string): number {
    if (this.threadsOverride !== undefined) return this.threadsOverride;
    const forced = Number(process.env[this.spec.threadsEnv]);
    if (forced >= 1) return Math.floor(forced);
    if (backend !== 'wasm' || work < this.spec.minThreadedWork) return 1;
    return wasmBackendThreads();
  }

  /** The pool for `threads` threads (this one included), started on first use and again when the count changes. */
  threads(threads: number): KernelThreads {
    if (this.pool?.threads !== threads) {
      this.closeThreads();
      const { module, memory } = this.load();
      this.pool = new KernelThreads(threads, module, memory, this.spec.pool);
    }
    return this.pool;
  }

  /** Stops the worker threads (they are unref'd, so the process's exit does it too). */
  closeThreads(): void {
    this.pool?.close();
    this.pool = undefined;
  }
}
