// The sides of a one-thread DPO step comparison, each in its own process, on one model folder and
// pairs file: ours (the real Trainer on wasm, 1 thread; FMA build, plain SIMD with
// DPO_KERNEL_BUILD=simd, XNNPACK-only products with DPO_GEMM=0), TRL's DPOTrainer
// (bench/pytorch/trl_step.py) and bare PyTorch eager (bench/pytorch/dpo_step.py), 1 torch thread
// and OMP_NUM_THREADS=1. Every side reports CPU seconds (its process, every thread) and wall seconds
// per step, the first step (warm-up) excluded. Shared by bench/gemm.ts (--step) and bench/attention.ts.
// Worker: node out/bench/step-sides.js --worker '{"dir":…,"pairs":2,"steps":3,"seq":512,"lora":0,"checkpointing":false}'
// (a folder from makeStepDir + writeStepPairs); under `node --cpu-prof` its `marks` cut the profile to the timed steps.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/protocol';
import { selectBackend } from '../src/engine/backend';
import { gemmBuild } from '../src/engine/kernels/gemm';
import { makeTinyModel } from '../src/engine/model/tiny';
import { Trainer } from '../src/engine/train/trainer';
import { SHAPES, writePairs } from './dpo-step';
import { PYTHON } from './matmul';

/** The median; of an even count, the mean of the middle two (a step row has rounds × steps values). */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
export const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
export const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** One step run: pairs per step, timed steps (after one untimed), LoRA rank (0: full), recomputed blocks. */
export interface StepOptions {
  dir: string;
  pairs: number;
  steps: number;
  /** Token budget per row (TRL's max_length; ours and bare PyTorch take the pairs whole). */
  seq: number;
  lora: number;
  checkpointing: boolean;
}

export interface StepTimes {
  cpu: number[];
  wall: number[];
  /** Ours: the kernel build the worker ran (fma or simd), checked against the side asked for. */
  build?: string;
  /** Ours: each metrics line's time, µs of the monotonic clock (a `--cpu-prof` profile's time base), to cut a profile to the timed steps. */
  marks?: number[];
}

/** A side: ours in one kernel build or product table, or a Python reference. */
export type Side = 'ours' | 'simd' | 'xnn' | 'noelem' | 'trl' | 'torch';
export const SIDE_NAMES: Record<Side, string> = {
  ours: 'ours (FMA build, our GEMM table)',
  simd: 'ours, plain SIMD (DPO_KERNEL_BUILD=simd)',
  xnn: 'ours, XNNPACK products only (DPO_GEMM=0)',
  noelem: "ours, tfjs's GELU and norms (DPO_FUSED_ELEMENTWISE=0)",
  trl: 'TRL DPOTrainer',
  torch: 'bare PyTorch eager',
};

/** A folder with a `shape` model (random weights, seed 0) whose positions cover `maxSeq`. */
export function makeStepDir(shape: string, maxSeq: number): string {
  if (!SHAPES[shape]) throw new Error(`unknown shape ${shape}; one of ${Object.keys(SHAPES).join(', ')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dpo-bench-step-${shape}-`));
  makeTinyModel(path.join(dir, 'model'), { ...SHAPES[shape], maxPositions: Math.max(256, maxSeq), seed: 0 });
  return dir;
}

/** pairs.jsonl in `dir`: `count` pairs of `seq` byte tokens each (prompt half, responses + EOS the rest). */
export function writeStepPairs(dir: string, count: number, seq: number): void {
  writePairs(path.join(dir, 'pairs.jsonl'), count, seq);
}

/** The worker's body: the real Trainer, wasm 1 thread, live reference; CPU-s and wall between metrics lines. */
async function stepWorker(o: StepOptions): Promise<StepTimes> {
  const backend = await selectBackend('wasm', 1);
  const out: StepTimes = { cpu: [], wall: [], marks: [] };
  let last: [number, number] | undefined;
  const config = resolveConfig({
    model: path.join(o.dir, 'model'),
    data: path.join(o.dir, 'pairs.jsonl'),
    output_dir: path.join(o.dir, `run-${process.pid}`),
    batch_size: o.pairs,
    max_steps: o.steps + 1,
    eval_fraction: 0,
    save_steps: 100000,
    learning_rate: 1e-5,
    warmup_ratio: 0,
    max_length: 2048,
    lora_r: o.lora,
    lora_alpha: 2 * Math.max(1, o.lora),
    gradient_checkpointing: o.checkpointing,
  });
  const trainer = Trainer.create(config, {
    backend,
    events: {
      onMetrics: () => {
        const u = process.cpuUsage();
        const now: [number, number] = [(u.user + u.system) / 1e6, performance.now() / 1000];
        out.marks!.push(Number(process.hrtime.bigint() / 1000n));
        if (last !== undefined) {
          out.cpu.push(now[0] - last[0]);
          out.wall.push(now[1] - last[1]);
        }
        last = now;
      },
    },
  });
  await trainer.run();
  return { ...out, build: gemmBuild() };
}

const lastLine = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

/** Our step in a child process; `env` picks the build or table (DPO_KERNEL_BUILD, DPO_GEMM, DPO_FUSED_ATTENTION). */
export function runOurs(o: StepOptions, env: Record<string, string>): StepTimes {
  const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--worker', JSON.stringify(o)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, DPO_FUSED_ATTENTION: '1', ...env },
  });
  if (child.status !== 0) {
    const why = child.stderr.split('\n').find((l) => l.startsWith('Error')) ?? child.stderr.trim().split('\n').pop();
    throw new Error(`step worker (${JSON.stringify(env)}) failed: exit ${child.status}${child.signal ? ` ${child.signal}` : ''}: ${why}`);
  }
  return lastLine(child.stdout) as StepTimes;
}

function runPython(script: string, args: Record<string, unknown>, what: string): StepTimes {
  const child = spawnSync(PYTHON, [path.resolve(__dirname, '../../bench/pytorch', script), JSON.stringify(args)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (child.status !== 0) throw new Error(`${what} failed: exit ${child.status}\n${child.stderr.slice(-2000)}`);
  const r = lastLine(child.stdout) as { step_seconds: number[]; cpu_step_seconds: number[] };
  return { cpu: r.cpu_step_seconds, wall: r.step_seconds };
}

/** TRL's DPOTrainer on the same folder (with LoRA: PEFT, all-linear, the same r and α; recomputed blocks alike). */
export function runTrl(o: StepOptions): StepTimes {
  return runPython(
    'trl_step.py',
    {
      model: path.join(o.dir, 'model'),
      data: path.join(o.dir, 'pairs.jsonl'),
      batch_size: o.pairs,
      steps: o.steps,
      threads: 1,
      max_length: o.seq,
      out: path.join(o.dir, 'trl'),
      lora_r: o.lora,
      lora_alpha: 2 * Math.max(1, o.lora),
      gradient_checkpointing: o.checkpointing,
    },
    'TRL step',
  );
}

/** Bare PyTorch eager (full fine-tuning only: the hand-written step has no adapters). */
export function runTorch(o: StepOptions): StepTimes {
  if (o.lora) throw new Error('bare PyTorch side: full fine-tuning only (no LoRA)');
  return runPython(
    'dpo_step.py',
    { model: path.join(o.dir, 'model'), data: path.join(o.dir, 'pairs.jsonl'), batch_size: o.pairs, steps: o.steps, beta: 0.1, lr: 1e-5, threads: 1 },
    'bare PyTorch step',
  );
}

/** A side named for a build must have run it (the FMA one needs V8's relaxed SIMD, which the engine turns on). */
function checkBuild(t: StepTimes, want: string): StepTimes {
  if (t.build !== want) throw new Error(`step worker ran the ${t.build} kernel build, not ${want}`);
  return t;
}

export function runSide(side: Side, o: StepOptions): StepTimes {
  switch (side) {
    case 'ours':
      return checkBuild(runOurs(o, {}), 'fma');
    case 'simd':
      return checkBuild(runOurs(o, { DPO_KERNEL_BUILD: 'simd' }), 'simd');
    case 'xnn':
      return runOurs(o, { DPO_GEMM: '0' });
    case 'noelem':
      return runOurs(o, { DPO_FUSED_ELEMENTWISE: '0' });
    case 'trl':
      return runTrl(o);
    case 'torch':
      return runTorch(o);
  }
}

export interface LengthResult {
  seq: number;
  pairs: number;
  times: Partial<Record<Side, StepTimes>>;
  /** Sides whose process failed (the error's first line); not run again at this length. */
  failed: Partial<Record<Side, string>>;
}

/**
 * Per length: a fresh pairs file, then `rounds` rounds of every side in turn (each side a new
 * process each round), so a change in the shared machine's load hits every side alike.
 */
export function compareSteps(
  shape: string,
  lengths: number[],
  pairs: number[],
  o: { steps: number; rounds: number; sides: Side[]; lora: number; checkpointing: boolean },
): LengthResult[] {
  const dir = makeStepDir(shape, Math.max(...lengths));
  const out: LengthResult[] = [];
  try {
    lengths.forEach((seq, i) => {
      writeStepPairs(dir, pairs[i] * (o.steps + 1), seq);
      const r: LengthResult = { seq, pairs: pairs[i], times: {}, failed: {} };
      for (let round = 0; round < o.rounds; round++)
        for (const side of o.sides.filter((s) => !r.failed[s])) {
          process.stderr.write(`${shape} ${seq} tokens × ${pairs[i]} pairs, round ${round + 1}: ${side}… (load ${load()})\n`);
          try {
            const t = runSide(side, { dir, pairs: pairs[i], steps: o.steps, seq, lora: o.lora, checkpointing: o.checkpointing });
            const acc = (r.times[side] ??= { cpu: [], wall: [] });
            acc.cpu.push(...t.cpu);
            acc.wall.push(...t.wall);
            process.stderr.write(`  CPU-s ${t.cpu.map((x) => x.toFixed(2)).join(' ')}; wall ${t.wall.map((x) => x.toFixed(2)).join(' ')}\n`);
          } catch (err) {
            // One side's failure (the memory preflight, a missing Python package) leaves the others' rows.
            r.failed[side] = String((err as Error).message).split('\n')[0];
            delete r.times[side];
          }
        }
      out.push(r);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** Markdown tables: CPU-s and wall per step per side and length, the ratios, and the cost per doubling. */
export function printStepReport(results: LengthResult[], sides: Side[]): void {
  const cell = (t?: StepTimes) => (t ? `${median(t.cpu).toFixed(2)} (${range(t.cpu)})` : '—');
  console.log(`| tokens | pairs | ${sides.map((s) => `${s} CPU-s (range)`).join(' | ')} | ${sides.map((s) => `${s} wall`).join(' | ')} |`);
  console.log(`|---|---|${sides.map(() => '---|---|').join('')}`);
  for (const r of results)
    console.log(
      `| ${r.seq} | ${r.pairs} | ${sides.map((s) => cell(r.times[s])).join(' | ')} | ${sides.map((s) => (r.times[s] ? median(r.times[s]!.wall).toFixed(2) : '—')).join(' | ')} |`,
    );
  for (const r of results) for (const [side, why] of Object.entries(r.failed)) console.log(`- ${r.seq} tokens, ${side}: failed: ${why}`);
  const refs = (['trl', 'torch'] as Side[]).filter((s) => sides.includes(s));
  const ours = sides.filter((s) => !refs.includes(s));
  if (refs.length && ours.length) {
    console.log('\nCPU-s ratios (median ÷ median)');
    console.log(`| tokens | ${ours.flatMap((o) => refs.map((r) => `${o} / ${r}`)).join(' | ')} |`);
    console.log(`|---|${ours.flatMap(() => refs.map(() => '---|')).join('')}`);
    for (const r of results)
      console.log(
        `| ${r.seq} | ${ours.flatMap((o) => refs.map((f) => (r.times[o] && r.times[f] ? (median(r.times[o]!.cpu) / median(r.times[f]!.cpu)).toFixed(2) : '—'))).join(' | ')} |`,
      );
  }
  if (results.length > 1) {
    // Per pair, so a length run with fewer pairs still compares: t(2L)/t(L) per pair-step.
    console.log('\nCost per doubling of length, t(L2)/t(L1) of CPU-s per pair and step');
    console.log(`| lengths | ${sides.join(' | ')} |`);
    console.log(`|---|${sides.map(() => '---|').join('')}`);
    for (let i = 1; i < results.length; i++) {
      const [a, b] = [results[i - 1], results[i]];
      const per = (r: LengthResult, s: Side) => median(r.times[s]!.cpu) / r.pairs;
      console.log(`| ${a.seq} → ${b.seq} | ${sides.map((s) => (a.times[s] && b.times[s] ? (per(b, s) / per(a, s)).toFixed(2) : '—')).join(' | ')} |`);
    }
  }
}

if (require.main === module) {
  const { values } = parseArgs({ options: { worker: { type: 'string' } } });
  if (!values.worker) throw new Error('usage: step-sides.js --worker JSON (a library otherwise: bench/gemm.ts --step)');
  stepWorker(JSON.parse(values.worker) as StepOptions)
    .then((t) => process.stdout.write(JSON.stringify(t) + '\n'))
    .catch((err) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exitCode = 1;
    });
}
