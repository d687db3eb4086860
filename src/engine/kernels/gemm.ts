// The model's 2-D products (x·W, x·Wᵀ, dy·W, dyᵀ·x) on our own wasm SIMD kernel (kernels/gemm.ts)
// or tfjs's (XNNPACK on wasm), whichever measured faster for the form and build (plain SIMD or FMA). Not an op with a
// gradient: ops.ts and frozen-ops.ts call `product` inside their own custom gradients. Ours runs on
// as many threads as wasm's products (attention-threads.ts's pool over one shared memory), where it
// measured faster than XNNPACK on as many threads (see `faster`).
// DPO_GEMM=0 turns ours off; DPO_GEMM=1 uses it for every product it can take (tests, benchmarks).
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64, WASM_FMA_BASE64 } from './gemm-wasm';
import { KernelBuild, tensorFloats } from './wasm-kernel';
import { SharedKernel } from './shared-kernel';

interface KernelExports {
  heapBase(): number;
  workFloats(): number;
  gemm(M: number, N: number, K: number, a: number, ars: number, aks: number, b: number, bks: number, bjs: number, c: number, work: number): void;
  gemmUnit(...args: number[]): void;
}

/** Operands past this many floats (A, B and C together, 256 MiB) stay on XNNPACK: our memory never shrinks. */
const MAX_FLOATS = 2 ** 26;

let modeOverride: GemmMode | undefined;
/** The kernel on one shared memory, so worker threads can run the same module on it (as attention.ts's). */
const kernel = new SharedKernel<KernelExports>({
  plainBase64: WASM_BASE64,
  fmaBase64: WASM_FMA_BASE64,
  threadsEnv: 'DPO_GEMM_THREADS',
  /**
   * Below this many multiply-adds (M·N·K) one thread does the product: handing out units cost 25–90 µs
   * of CPU a product here, +14% at 4 M, +7% at 16 M, nothing measurable at 33 M (bench/RESULTS.md).
   */
  minThreadedWork: 1 << 24,
  pool: { exports: ['gemmUnit'], what: 'GEMM', avoid: '--threads 1 (or DPO_GEMM=0)' },
});
/** Rows per unit at least this many when the rows are split (each unit packs its own copy of B's blocks). */
const MIN_UNIT_ROWS = 32;

/** off: tfjs's products only; auto: ours where it measured faster; on: ours for every product it can take. */
export type GemmMode = 'off' | 'auto' | 'on';

/** Sets the kernel's thread count (tests, benchmarks); undefined: the wasm backend's own count. */
export function setGemmThreads(threads: number | undefined): void {
  kernel.threadsOverride = threads;
}

/** Stops the kernel's worker threads (they are unref'd, so the process's exit does it too). */
export function closeGemmThreads(): void {
  kernel.closeThreads();
}

/** Which build of the kernel runs in this process: with fused multiply-add (relaxed SIMD) or plain SIMD. */
export function gemmBuild(): KernelBuild {
  return kernel.build;
}

/** Sets the mode for this process (benchmarks and tests); undefined: back to DPO_GEMM. */
export function setGemmMode(mode: GemmMode | undefined): void {
  modeOverride = mode;
}

export function gemmMode(): GemmMode {
  if (modeOverride !== undefined) return modeOverride;
  const env = process.env.DPO_GEMM;
  return env === '0' ? 'off' : env === '1' ? 'on' : 'auto';
}

/**
 * Where ours beats XNNPACK (1 thread; 2 threads each agree, below), by form: A·B, A·Bᵀ or Aᵀ·B
 * (transA), and by the build.
 * From bench/gemm.ts on the tiny, small and GPT-2-small weights at 512-4096 rows, ours ÷ XNNPACK as
 * the engine called it (bench/RESULTS.md, "our own GEMM", 2026-12-04):
 * - Aᵀ·B (every dW): 1.21-3.06× with plain SIMD, 1.42-4.24× with FMA. XNNPACK has no transposed
 *   operand, so the engine pays an explicit transpose before its product; ours packs.
 * - A·B and A·Bᵀ (forward, dx) with FMA: 1.11-2.97×, median ~1.4.
 * - the same with plain SIMD: 0.76-1.56× (median ~1.1) while N or K is under 512 (tiny, small),
 *   1.26-2.06× when both are 512 or more (GPT-2 small's 768-3072): XNNPACK is used below that.
 * On 2 threads each (bench/gemm.ts --threads 2, RESULTS.md "our GEMM on threads", 2026-12-04, the
 * 2-core machine at load 4-7), where this table picks ours: 0.94-8.8× in CPU-s and 0.94-14× wall
 * (FMA, 512-4096 rows, two runs: CPU-s under 1.0 once in 107, wall twice); plain SIMD 1.05-3.4× both.
 */
function faster(transA: boolean, N: number, K: number): boolean {
  return transA || gemmBuild() === 'fma' || Math.min(N, K) >= 512;
}

/** Whether `product` runs ours for these operands. */
export function gemmApplies(a: tf.Tensor2D, b: tf.Tensor2D, transA: boolean, transB: boolean): boolean {
  const mode = gemmMode();
  const backend = tf.getBackend();
  if (mode === 'off' || (backend !== 'wasm' && backend !== 'cpu') || a.dtype !== 'float32' || b.dtype !== 'float32') return false;
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const N = transB ? b.shape[0] : b.shape[1];
  if (K === 0 || M === 0 || N === 0 || a.size + b.size + M * N > MAX_FLOATS) return false;
  if (mode === 'on') return true;
  // tfjs's cpu backend multiplies in JavaScript: 0.24 GFLOP/CPU-s at 256³, ours 17 (same process).
  return backend === 'cpu' || faster(transA, N, K);
}

/**
 * op(a)·op(b), op = transpose where asked, as a new tensor with no gradient of its own (callers
 * wrap it in their custom gradients). Ours where gemmApplies; else tfjs's, with the transposes made
 * explicit on wasm and cpu, where a transposed operand makes tfjs's product 5-12× slower (ops.ts).
 */
export function product(a: tf.Tensor2D, b: tf.Tensor2D, transA: boolean, transB: boolean): tf.Tensor2D {
  if (gemmApplies(a, b, transA, transB)) return ours(a, b, transA, transB);
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return tf.matMul(a, b, transA, transB);
  if (!transA && !transB) return tf.matMul(a, b);
  return tf.tidy(() => tf.matMul(transA ? tf.transpose(a) : a, transB ? tf.transpose(b) : b));
}

function ours(a: tf.Tensor2D, b: tf.Tensor2D, transA: boolean, transB: boolean): tf.Tensor2D {
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const N = transB ? b.shape[0] : b.shape[1];
  const k = kernel.exports;
  const threads = Math.max(1, kernel.threadCount(M * N * K, tf.getBackend()));
  const base = Math.ceil(k.heapBase() / 16) * 16;
  const ao = base;
  const bo = ao + align(a.size * 4);
  const co = bo + align(b.size * 4);
  const wo = co + align(M * N * 4);
  const workBytes = k.workFloats() * 4;
  const end = wo + workBytes * threads;
  const need = end - kernel.memory.buffer.byteLength;
  if (need > 0) {
    try {
      kernel.memory.grow(Math.ceil(need / 65536));
    } catch {
      // No room for ours: tfjs's product (its heap is separate) rather than a failed step.
      return tf.tidy(() => tf.matMul(transA ? tf.transpose(a) : a, transB ? tf.transpose(b) : b));
    }
  }
  const f32 = new Float32Array(kernel.memory.buffer);
  f32.set(tensorFloats(a), ao / 4);
  f32.set(tensorFloats(b), bo / 4);
  // Row-major a [M, K] is (i, k) at i·K + k; a stored as [K, M] (transA) is at k·M + i. Likewise b.
  const [ars, aks] = transA ? [1, M] : [K, 1];
  const [bks, bjs] = transB ? [1, K] : [N, 1];
  if (threads === 1) k.gemm(M, N, K, ao, ars, aks, bo, bks, bjs, co, wo);
  else runThreaded(k, threads, [M, N, K, ao, ars, aks, bo, bks, bjs, co, wo], workBytes);
  const out = f32.subarray(co / 4, co / 4 + M * N);
  // The wasm backend copies a new tensor's values into its heap at once; the cpu backend keeps the array.
  return tf.tensor2d(tf.getBackend() === 'wasm' ? out : out.slice(), [M, N]);
}

/**
 * The product in about two units a thread, so a thread slowed by the machine's other work takes
 * fewer: blocks of rows where there are enough (each unit packs B's blocks again, A's rows once),
 * else of columns (each packs all of A, small then). Blocks are whole 4×8 register tiles.
 */
function runThreaded(k: KernelExports, threads: number, args: number[], workBytes: number): void {
  const [M, N] = args;
  const target = 2 * threads;
  let mu = M;
  let nu = N;
  if (M >= target * MIN_UNIT_ROWS) mu = Math.ceil(M / target / 4) * 4;
  else nu = Math.max(8, Math.ceil(N / target / 8) * 8);
  const units = Math.ceil(M / mu) * Math.ceil(N / nu);
  if (units < 2) {
    k.gemm(...(args as Parameters<KernelExports['gemm']>));
    return;
  }
  kernel.threads(threads).runUnits(k, 'gemmUnit', units, [...args, mu, nu], 10, workBytes);
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
