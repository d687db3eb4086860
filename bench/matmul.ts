// Matrix-product throughput (GFLOP/s) of tfjs wasm on the models' own shapes (bench/matmul-shapes.ts)
// at a given thread count, one child process per count (wasm's pool is fixed per process), and of
// PyTorch (its BLAS) on the same shapes at 1 and 2 threads. Batched products are also timed as one
// 2-D product per batch entry (tf.unstack + matMul + stack), the layout alternative for attention.
// Usage: node out/bench/matmul.js [--threads 1,2] [--reps 10]   (PyTorch: DPO_BENCH_PYTHON, default .cache/torch-env)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, selectBackend } from '../src/engine/backend';
import { PRODUCT_SHAPES, ProductShape, flops } from './matmul-shapes';

export const PYTHON = process.env.DPO_BENCH_PYTHON ?? path.resolve(__dirname, '../../.cache/torch-env/bin/python');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface MatmulResult {
  who: string;
  threads: number;
  /** GFLOP/s per shape name (median of the timed repetitions). */
  gflops: Record<string, number>;
  /** Batched shapes only: as per-entry 2-D products. */
  perEntry?: Record<string, number>;
}

function timeIt(fn: (rep: number) => tf.Tensor, reps: number): number {
  const once = (rep: number) => {
    const t0 = process.hrtime.bigint();
    const y = fn(rep);
    y.dataSync(); // the product is done when its values are readable
    y.dispose();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  once(0); // warm-up: XNNPACK packs the right operand on first use
  return median(Array.from({ length: reps }, (_, i) => once(i + 1)));
}

async function worker(threads: number, reps: number): Promise<MatmulResult> {
  const report = await selectBackend('wasm', threads);
  const result: MatmulResult = { who: describeBackend(report).split(';')[0], threads: Number(report.threads), gflops: {}, perEntry: {} };
  for (const s of PRODUCT_SHAPES) {
    const [a, b] = operands(s);
    result.gflops[s.name] = flops(s) / timeIt(() => tf.matMul(a, b), reps) / 1e9;
    if (s.batch > 1) {
      // Fresh right operands for every repetition, as in training: tfjs-wasm keeps an XNNPACK
      // operator (with a packed copy) per right operand, so reusing one would time only the
      // cached case (10x faster here than in a real forward+backward).
      const as = tf.unstack(a);
      const bss = Array.from({ length: reps + 1 }, () => tf.unstack(tf.add(b, 0)));
      result.perEntry![s.name] = flops(s) / timeIt((rep) => tf.tidy(() => tf.stack(as.map((x, i) => tf.matMul(x, bss[rep][i])))), reps) / 1e9;
      tf.dispose([...as, ...bss.flat()]);
    }
    tf.dispose([a, b]);
  }
  return result;
}

function operands(s: ProductShape): [tf.Tensor, tf.Tensor] {
  const lead = s.batch > 1 ? [s.batch] : [];
  return [tf.randomNormal([...lead, s.m, s.k], 0, 1, 'float32', 1), tf.randomNormal([...lead, s.k, s.n], 0, 1, 'float32', 2)];
}

function lastJson<T>(out: string): T | undefined {
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '') as T;
  } catch {
    return undefined;
  }
}

/** Ours at each thread count, then PyTorch at 1 and 2 threads: one list, each in its own process. */
export function measureMatmuls(threadCounts: number[], reps: number): MatmulResult[] {
  const out: MatmulResult[] = [];
  for (const t of threadCounts) {
    const child = spawnSync(process.execPath, [__filename, '--worker', String(t), '--reps', String(reps)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = lastJson<MatmulResult>(child.stdout);
    if (r) out.push(r);
    else process.stderr.write(`matmul worker (${t} threads) failed: exit ${child.status}\n`);
  }
  for (const t of [1, 2]) {
    const py = path.resolve(__dirname, '../../bench/pytorch/matmul.py');
    const child = spawnSync(PYTHON, [py, JSON.stringify({ shapes: PRODUCT_SHAPES, threads: t, reps })], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = lastJson<MatmulResult>(child.stdout);
    if (r) out.push(r);
    else process.stderr.write(`PyTorch matmul (${t} threads) failed: exit ${child.status}\n`);
  }
  return out;
}

export function matmulTable(results: MatmulResult[]): string[] {
  const lines = [`| product | ${results.map((r) => `${r.who}, ${r.threads} thr`).join(' | ')} |`, `|---|${results.map(() => '---').join('|')}|`];
  for (const s of PRODUCT_SHAPES) {
    lines.push(`| ${s.name} | ${results.map((r) => (r.gflops[s.name] ?? NaN).toFixed(1)).join(' | ')} |`);
    if (s.batch > 1)
      lines.push(
        `| ↳ as ${s.batch} 2-D products | ${results.map((r) => (r.perEntry?.[s.name] !== undefined ? r.perEntry[s.name].toFixed(1) : '')).join(' | ')} |`,
      );
  }
  return lines;
}

async function main() {
  const { values } = parseArgs({
    options: { worker: { type: 'string' }, threads: { type: 'string', default: '1,2' }, reps: { type: 'string', default: '10' } },
  });
  if (values.worker) {
    process.stdout.write(JSON.stringify(await worker(Number(values.worker), Number(values.reps))) + '\n');
    return;
  }
  const results = measureMatmuls(values.threads!.split(',').map(Number), Number(values.reps));
  console.log('Matrix products, GFLOP/s (median), same shapes');
  for (const l of matmulTable(results)) console.log(l);
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
