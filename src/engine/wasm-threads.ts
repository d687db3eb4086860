// Makes tfjs-backend-wasm's threaded build (tfjs-backend-wasm-threaded-simd.wasm: XNNPACK's
// products on a pthreadpool, one Emscripten pthread per core) load under Node. tfjs only picks it in
// browsers (tensorflow/tfjs#3830); what it lacks in Node is three small things, supplied here from
// the package's own files, without changing them. Not a kernel: the kernels are tfjs's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import nodeOs from 'node:os';
import * as path from 'node:path';
import { Worker as NodeWorker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';

/** tfjs's build pre-creates 8 pthread workers and never uses more (backend.cc: max_num_threads). */
export const MAX_WASM_THREADS = 8;

/** The thread count a `threads` setting means here: 0 = every core (up to tfjs's maximum). */
export function resolveThreads(requested: number | undefined): number {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const n = requested && requested > 0 ? Math.floor(requested) : cores;
  return Math.min(n, MAX_WASM_THREADS);
}

function wasmOutFile(name: string): string {
  // wasm-out holds the Emscripten glue as separate files: the pthread worker's script (exported as
  // a string) and the threaded module factory that each worker evaluates. The VSIX's bundle has no
  // node_modules: scripts/bundle.mjs copies both files to dist/wasm-out beside the engine bundle.
  const besideBundle = path.join(__dirname, 'wasm-out', name);
  if (fs.existsSync(besideBundle)) return besideBundle;
  const pkg = '@tensorflow/tfjs-backend-wasm/package.json';
  return path.join(path.dirname(require.resolve(pkg)), 'wasm-out', name);
}

/**
 * Emscripten's main thread starts each pthread with `new Worker(url)`, where tfjs's url is a
 * `blob:` URL of the worker script, then posts it the module factory as a Blob. Node's Worker
 * takes neither (blob URLs are per thread in Node 20, and the worker reads scripts with
 * fs.readFileSync). This Worker runs the same script text with `eval`, and points the factory
 * at its file in wasm-out. Emscripten assigns the global `Worker` when the module starts, so the
 * property ignores assignments while the shim is installed.
 */
function installWorkerShim(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a file of the wasm package, found at run time
  const workerScript = (require(wasmOutFile('tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents
    // As tfjs does before making its Blob: the template literal holds real newlines inside
    // string literals of the script.
    .replace(/\n/g, '\\n');
  const factoryFile = wasmOutFile('tfjs-backend-wasm-threaded-simd.js');
  class PthreadWorker extends NodeWorker {
    constructor() {
      super(workerScript, { eval: true });
      // A pthread worker must not keep the process alive once the engine is done: Emscripten
      // ref()s a worker while it runs a pthread, and pthreadpool's threads run until exit.
      super.unref();
    }
    override ref(): void {}
    override postMessage(message: unknown, transfer?: readonly import('node:worker_threads').TransferListItem[]): void {
      const m = message as { cmd?: string };
      super.postMessage(m?.cmd === 'load' ? { ...m, urlOrBlob: factoryFile } : message, transfer);
    }
  }
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => undefined });
}

/**
 * Loads the wasm backend with `threads` XNNPACK threads and returns the count it reports.
 * Call before `tf.setBackend('wasm')` has ever run. Three settings make tfjs take the threaded
 * build in Node: its multithreading flag (hard-coded false under Node), the thread count, and the
 * core count the module reads at start-up: backend.cc uses half of emscripten_num_logical_cores()
 * (Node: os.cpus().length), assuming two hyper-threads per core, and caps the pool there; on a
 * 2-vCPU machine that gives 1 thread. os.cpus is reported as 2 × threads while the module starts.
 */
export async function setWasmBackendThreaded(threads: number): Promise<number> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  // The shim stays: pthreadpool may start more workers later (a larger pool than pre-created).
  installWorkerShim();
  // The module object itself (tfjs's bundle calls require('os').cpus()), not a namespace copy.
  const osModule = nodeOs as { cpus: () => os.CpuInfo[] };
  const cpus = osModule.cpus;
  const first = cpus()[0];
  osModule.cpus = () => new Array<os.CpuInfo>(2 * threads).fill(first);
  try {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("tf.setBackend('wasm') returned false for the threaded build");
    await tf.ready();
  } finally {
    osModule.cpus = cpus;
  }
  return wasm.getThreadsCount();
}
