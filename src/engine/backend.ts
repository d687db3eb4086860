// Picks the TensorFlow.js backend before any tensor exists: tfjs-node-gpu > webgpu (hardware
// adapters only) > tfjs-node > wasm > cpu. Never falls back silently: the report names the backend
// and why each faster one was not used.
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, BackendName, BackendReport, GpuAdapterReport, threadCount } from '../protocol';
import { setUpWebGpu } from './webgpu';
import { resolveThreads, setWasmBackendThreaded } from './wasm-threads';
import { guardWasmHeap } from './wasm-heap';

/** The tfjs backend that a name registers (both native packages register 'tensorflow'). */
const TFJS_BACKEND: Record<BackendName, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

/**
 * tfjs keeps every tensor the backward pass needs through clone(), i.e. the Identity kernel, and
 * wasm's Identity copies the buffer, where cpu's shares it. Measured on GPT-2-small: the copies
 * doubled the activation memory of a forward pass (past the 4 GiB wasm heap at seq 256) and cost
 * ~7% of step time. Kernels never write into their inputs, so sharing the buffer with a reference
 * count, as wasm's own Reshape does, is safe.
 */
function shareBuffersInWasmIdentity(): void {
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

/** Loads and initialises one backend; returns the GPU adapter for webgpu, the thread count for wasm. */
async function tryBackend(name: BackendName, forced: boolean, threads: number): Promise<{ adapter?: GpuAdapterReport; threads?: number }> {
  let adapter: GpuAdapterReport | undefined;
  switch (name) {
    case 'tfjs-node-gpu':
      // The native packages are optionalDependencies: absent on machines where libtensorflow
      // could not be downloaded. require() throws MODULE_NOT_FOUND then.
      require('@tensorflow/tfjs-node-gpu');
      break;
    case 'tfjs-node':
      require('@tensorflow/tfjs-node');
      break;
    case 'webgpu':
      // Software adapters (Mesa's llvmpipe, SwiftShader) are slower than wasm: only when forced.
      adapter = await setUpWebGpu(forced);
      break;
    case 'wasm':
      require('@tensorflow/tfjs-backend-wasm');
      if (tf.getKernel(tf.Identity, 'wasm')?.kernelFunc.name === 'identity') shareBuffersInWasmIdentity();
      // One thread: the plain SIMD build, as tfjs picks it in Node. More: the threaded build.
      if (threads > 1) {
        try {
          const count = await setWasmBackendThreaded(threads);
          guardWasmHeap(); // a failed malloc throws instead of corrupting the heap (wasm-heap.ts)
          return { threads: count };
        } catch (err) {
          throw new Error(
            `wasm's threaded build did not load (${firstLine(err)}); --threads 1 (or "threads": 1, the dpo.threads setting) uses the single-threaded one`,
            { cause: err },
          );
        }
      }
      break;
    case 'cpu':
      break;
  }
  const ok = await tf.setBackend(TFJS_BACKEND[name]);
  if (!ok) throw new Error(`tf.setBackend('${TFJS_BACKEND[name]}') returned false`);
  await tf.ready();
  if (name !== 'wasm') return { adapter };
  guardWasmHeap();
  // The count the module reports (a backend made earlier in this process keeps its own); the
  // single-threaded build has no pool and reports -1.
  const count = (require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  return { threads: Math.max(1, count) };
}

function firstLine(err: unknown): string {
  if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /Cannot find module '@tensorflow\/tfjs-node/.test(String((err as Error).message))) {
    return 'not installed (an optional dependency: its install downloads libtensorflow, which failed or was not possible here)';
  }
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim();
}

/**
 * Selects and initialises a backend. With `forced`, only that backend is tried and a failure
 * is an error; otherwise the fastest that loads wins. `threads` (0 or absent: every core) is how
 * many threads wasm's matrix products use; the other backends manage their own.
 */
export async function selectBackend(forced?: BackendName, threads?: number): Promise<BackendReport> {
  const candidates: readonly BackendName[] = forced ? [forced] : BACKEND_NAMES;
  const skipped: BackendReport['skipped'] = [];
  for (const name of candidates) {
    let loaded: { adapter?: GpuAdapterReport; threads?: number };
    try {
      loaded = await tryBackend(name, forced !== undefined, resolveThreads(threads));
    } catch (err) {
      if (forced) throw new Error(`backend '${name}' was requested but could not load: ${firstLine(err)}`, { cause: err });
      skipped.push({ name, reason: firstLine(err) });
      continue;
    }
    const report: BackendReport = { name, skipped, forced: forced !== undefined };
    if (name === 'wasm') {
      report.simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
      report.threads = loaded.threads;
    }
    if (loaded.adapter) report.adapter = loaded.adapter;
    return report;
  }
  throw new Error(`no TensorFlow.js backend could load: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** One line for logs and the CLI: "backend wasm (SIMD, 2 threads); not tfjs-node-gpu: …". */
export function describeBackend(report: BackendReport): string {
  let text = `backend ${report.name}`;
  if (report.name === 'wasm') text += ` (${report.simd ? 'SIMD' : 'no SIMD'}, ${threadCount(report.threads)})`;
  const a = report.adapter;
  if (a) {
    const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`;
    text += ` (${[a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown'}; ${a.description}; ${a.featureLevel}${a.software ? ', SOFTWARE' : ''};`;
    text += ` max buffer ${mib(a.limits.maxBufferSize)}, max binding ${mib(a.limits.maxStorageBufferBindingSize)})`;
  }
  if (report.forced) text += ' [forced]';
  for (const s of report.skipped) text += `; not ${s.name}: ${s.reason}`;
  if (report.name === 'cpu' && !report.forced) {
    text += '; WARNING: the pure-JS cpu backend is ~50x slower than wasm';
  }
  return text;
}
