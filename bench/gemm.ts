// Our own GEMM (src/engine/kernels/gemm.ts) against tfjs's products as the engine calls them
// (XNNPACK, with the transpose explicit for the transposed forms), on the bench configs' weights
// (bench/configs.ts, GPT-2 layout) in the three forms of a training step: forward x·W, dx = dy·Wᵀ,
// dW = xᵀ·dy (and the head's x·Wᵀ, dy·W, dyᵀ·x). Wasm backend, 1 thread (--threads N: the threaded
// build, ours and XNNPACK each on N), one process, interleaved; CPU seconds (process.cpuUsage, every
// thread of the process) and wall, median of the repetitions. Fresh operands each repetition, as in
// training (tfjs-wasm caches XNNPACK's packed copy of a reused right operand).
// --step: then the DPO step (bench/attention.ts's CPU-second step worker, the real Trainer, wasm
// 1 thread, fused attention on) with our products on (DPO_GEMM unset: the wrapper's table) and off
// (DPO_GEMM=0), two processes each, interleaved; --trl adds TRL's DPOTrainer (1 thread, torch env)
// between them. The FMA build runs by default (the engine turns on Node 20's relaxed-SIMD flag); DPO_KERNEL_BUILD=simd for the plain one.
// --step-toggle VAR: the step compares VAR unset (on) against VAR=0 (off) instead of DPO_GEMM, e.g.
// DPO_FUSED_ELEMENTWISE (our GELU and norm kernels); the other kernels stay at their defaults.
// Usage: node out/bench/gemm.js [--configs tiny,small,gpt2-small] [--rows 1024,4096] [--reps 3] [--threads 1] [--json]
//        [--step [--trl]] [--step-shape small] [--seq 128] [--steps 3] [--step-toggle DPO_GEMM] [--rounds 2] [--no-products]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/engine/backend';
import { gemmBuild, product, setGemmMode } from '../src/engine/kernels/gemm';
import { makeTinyModel } from '../src/engine/model/tiny';
import { BENCH_SHAPES } from './configs';
import { SHAPES, writePairs } from './dpo-step';
import { PYTHON } from './matmul';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  config: string;
  product: string;
  form: 'A·B' | 'A·Bᵀ' | 'Aᵀ·B';
  m: number;
  n: number;
  k: number;
  oursS: number;
  xnnS: number;
  oursWall: number;
  xnnWall: number;
}

/** CPU seconds and wall seconds of one product. */
function cpuSeconds(fn: () => tf.Tensor): [number, number] {
  const u = process.cpuUsage();
  const t = process.hrtime.bigint();
  const y = fn();
  y.dataSync();
  const d = process.cpuUsage(u);
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  y.dispose();
  return [(d.user + d.system) / 1e6, wall];
}

/** One product in one form, ours and XNNPACK alternating, `reps` each after a warm-up of each. */
function measure(form: Row['form'], m: number, n: number, k: number, reps: number): Pick<Row, 'oursS' | 'xnnS' | 'oursWall' | 'xnnWall'> {
  const transA = form === 'Aᵀ·B';
  const transB = form === 'A·Bᵀ';
  const a = tf.randomNormal(transA ? [k, m] : [m, k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal(transB ? [n, k] : [k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  const run = (mode: 'on' | 'off') => {
    const fresh = tf.add(b, 0) as tf.Tensor2D;
    setGemmMode(mode);
    try {
      return cpuSeconds(() => product(a, fresh, transA, transB));
    } finally {
      setGemmMode(undefined);
      fresh.dispose();
    }
  };
  run('on');
  run('off');
  const ours: [number, number][] = [];
  const xnn: [number, number][] = [];
  for (let r = 0; r < reps; r++) {
    ours.push(run('on'));
    xnn.push(run('off'));
  }
  tf.dispose([a, b]);
  const cpu = (xs: [number, number][]) => median(xs.map((x) => x[0]));
  const wall = (xs: [number, number][]) => median(xs.map((x) => x[1]));
  return { oursS: cpu(ours), xnnS: cpu(xnn), oursWall: wall(ours), xnnWall: wall(xnn) };
}

/** The GPT-2 layout's weights as [name, in, out], and the head [vocab, d] used as x·Wᵀ. */
function weights(config: string): { name: string; din: number; dout: number; head?: boolean }[] {
  const c = BENCH_SHAPES[config]().config;
  const d = c.hiddenSize;
  const ff = c.intermediateSize;
  return [
    { name: 'qkv', din: d, dout: 3 * d },
    { name: 'attn out', din: d, dout: d },
    { name: 'MLP up', din: d, dout: ff },
    { name: 'MLP down', din: ff, dout: d },
    { name: 'head', din: d, dout: c.vocabSize, head: true },
  ];
}

/**
 * CPU seconds per DPO step with `toggle` (an environment variable, DPO_GEMM by default: our products)
 * unset, so on, and =0, off, `rounds` processes each,
 * interleaved; with `trl`, TRL's DPOTrainer (bench/pytorch/trl_step.py, 1 torch thread, its step
 * clock switched to process CPU time) on the same model folder and pairs after each on/off pair.
 */
function stepRuns(shape: string, seq: number, steps: number, trl: boolean, toggle: string, rounds: number): { on: number[]; off: number[]; trl: number[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-bench-gemm-'));
  makeTinyModel(path.join(dir, 'model'), { ...SHAPES[shape], maxPositions: Math.max(256, seq), seed: 0 });
  writePairs(path.join(dir, 'pairs.jsonl'), 4 * (steps + 1), seq);
  const out = { on: [] as number[], off: [] as number[], trl: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    for (const variant of ['on', 'off'] as const) {
      const child = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, 'attention.js'), '--worker', dir, '--steps', String(steps)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, DPO_FUSED_ATTENTION: '1', [toggle]: variant === 'on' ? '' : '0' },
      });
      if (child.status !== 0) throw new Error(`step worker (${variant}) failed: exit ${child.status}`);
      out[variant].push(...(JSON.parse(child.stdout.trim().split('\n').pop()!) as number[]));
    }
    if (!trl) continue;
    const args = {
      model: path.join(dir, 'model'),
      data: path.join(dir, 'pairs.jsonl'),
      batch_size: 4,
      steps,
      threads: 1,
      max_length: seq,
      out: path.join(dir, 'trl'),
    };
    const script = path.resolve(__dirname, '../../bench/pytorch/trl_step.py');
    const code = `import runpy, sys, time; time.perf_counter = time.process_time; sys.argv = [${JSON.stringify(script)}, sys.argv[1]]; runpy.run_path(sys.argv[0], run_name='__main__')`;
    const child = spawnSync(PYTHON, ['-c', code, JSON.stringify(args)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    if (child.status !== 0) throw new Error(`TRL step failed: exit ${child.status}\n${child.stderr.slice(-2000)}`);
    out.trl.push(...(JSON.parse(child.stdout.trim().split('\n').pop()!) as { step_seconds: number[] }).step_seconds);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      configs: { type: 'string', default: 'tiny,small,gpt2-small' },
      rows: { type: 'string', default: '1024,4096' },
      reps: { type: 'string', default: '3' },
      json: { type: 'boolean' },
      step: { type: 'boolean' },
      trl: { type: 'boolean' },
      'step-shape': { type: 'string', default: 'small' },
      seq: { type: 'string', default: '128' },
      steps: { type: 'string', default: '3' },
      'no-products': { type: 'boolean' },
      'step-toggle': { type: 'string', default: 'DPO_GEMM' },
      rounds: { type: 'string', default: '2' },
      threads: { type: 'string', default: '1' },
    },
  });
  const { threads } = await selectBackend('wasm', Number(values.threads));
  console.log(
    `kernel build ${gemmBuild()}; wasm threads ${threads}; node ${process.version}; ${os.cpus()[0].model}; load ${load()}; ${new Date().toISOString()}`,
  );
  const reps = Number(values.reps);
  const rows: Row[] = [];
  for (const config of values['no-products'] ? [] : values.configs!.split(',')) {
    for (const M of values.rows!.split(',').map(Number)) {
      for (const w of weights(config)) {
        // Forward, dx and dW of y = x·W (W [in, out]); the head is y = x·Wᵀ (W [V, d]).
        const forms: [string, Row['form'], number, number, number][] = w.head
          ? [
              ['fwd x·Wᵀ', 'A·Bᵀ', M, w.dout, w.din],
              ['dx = dy·W', 'A·B', M, w.din, w.dout],
              ['dW = dyᵀ·x', 'Aᵀ·B', w.dout, w.din, M],
            ]
          : [
              ['fwd x·W', 'A·B', M, w.dout, w.din],
              ['dx = dy·Wᵀ', 'A·Bᵀ', M, w.din, w.dout],
              ['dW = xᵀ·dy', 'Aᵀ·B', w.din, w.dout, M],
            ];
        for (const [what, form, m, n, k] of forms) {
          if (m * n + m * k + k * n > 2 ** 26) continue; // past kernels/gemm.ts's MAX_FLOATS: always XNNPACK
          const r = { config, product: `${w.name} ${what}`, form, m, n, k, ...measure(form, m, n, k, reps) };
          rows.push(r);
          const gf = (s: number) => ((2 * m * n * k) / s / 1e9).toFixed(1);
          console.log(
            `${config.padEnd(10)} ${r.product.padEnd(22)} ${form.padEnd(5)} ${`${m}×${n}×${k}`.padEnd(16)} ours ${gf(r.oursS).padStart(5)} xnn ${gf(r.xnnS).padStart(5)} GFLOP/CPU-s  ${(r.xnnS / r.oursS).toFixed(2)}×  wall ${gf(r.oursWall).padStart(5)} vs ${gf(r.xnnWall).padStart(5)} GFLOP/s ${(r.xnnWall / r.oursWall).toFixed(2)}×`,
          );
        }
      }
    }
  }
  if (values.json) console.log(JSON.stringify(rows));
  if (!values.step) return;
  const toggle = values['step-toggle']!;
  const { on, off, trl } = stepRuns(values['step-shape']!, Number(values.seq), Number(values.steps), values.trl === true, toggle, Number(values.rounds));
  const med = (xs: number[]) => median(xs).toFixed(2);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  console.log(`\nDPO step, ${values['step-shape']}, 4 pairs × 2 × ${values.seq} tokens, wasm 1 thread, fused attention on; CPU-s per step`);
  console.log(
    toggle === 'DPO_GEMM'
      ? `ours (table): ${med(on)} (${range(on)}); XNNPACK only: ${med(off)} (${range(off)}); on / off ${(median(on) / median(off)).toFixed(2)}; load ${load()}`
      : `${toggle} on: ${med(on)} (${range(on)}); ${toggle}=0: ${med(off)} (${range(off)}); on / off ${(median(on) / median(off)).toFixed(2)}; load ${load()}`,
  );
  if (trl.length)
    console.log(
      `TRL DPOTrainer, 1 thread: ${med(trl)} (${range(trl)}); ours / TRL ${(median(on) / median(trl)).toFixed(2)}, off / TRL ${(median(off) / median(trl)).toFixed(2)}`,
    );
}

void main();
