// Issue #15's speed numbers in one run on one machine: matrix products (ours on 1 and 2 threads vs
// PyTorch's BLAS on 1 and 2), and per shape (`small`, `llama-gqa-small`; 4 pairs × 2 × 128) the DPO
// step of ours (1 and 2 threads, live reference) against PyTorch eager (bench/pytorch/dpo_step.py,
// 1 and 2 threads) and TRL's DPOTrainer (2 threads) on the same model folder and pairs, and our
// cached-reference step against a policy-only forward+backward (both on 2 threads). Each in its own
// process, one after another; `uptime` before and after each shape, since the machine is shared.
// Usage: node out/bench/threads.js [--shapes small,llama-gqa-small] [--steps 3] [--reps 7]
import { execSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeTinyModel } from '../src/engine/model/tiny';
import { SHAPES, writePairs } from './dpo-step';
import { PYTHON, matmulTable, measureMatmuls } from './matmul';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  execSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/^.*load average: /, '');

function lastJson(out: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '');
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[]): Record<string, unknown> | undefined {
  const child = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  const r = lastJson(child.stdout);
  if (!r) process.stderr.write(`${path.basename(args[0])} failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  return r;
}

interface ShapeTimes {
  ours1?: number;
  ours2?: number;
  cached2?: number;
  fb2?: number;
  torch1?: number;
  torch2?: number;
  trl2?: number;
  load: string[];
}

function timeShape(shape: string, pairs: number, seq: number, steps: number): ShapeTimes {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dpo-threads-${shape}-`));
  const t: ShapeTimes = { load: [load()] };
  try {
    makeTinyModel(path.join(dir, 'model'), { ...SHAPES[shape], maxPositions: Math.max(256, seq), seed: 0 });
    writePairs(path.join(dir, 'pairs.jsonl'), pairs * (steps + 2), seq, true);
    const ours = (variant: string, threads: number) => {
      process.stderr.write(`${shape}: ours ${variant}, ${threads} thread(s)…\n`);
      const args = ['--worker', variant, '--dir', dir, '--pairs', String(pairs), '--steps', String(steps), '--seq', String(seq), '--threads', String(threads)];
      return run(process.execPath, [path.join(__dirname, 'dpo-step.js'), ...args])?.medianSeconds as number | undefined;
    };
    const torch = (threads: number) => {
      process.stderr.write(`${shape}: PyTorch, ${threads} thread(s)…\n`);
      const a = { model: path.join(dir, 'model'), data: path.join(dir, 'pairs.jsonl'), batch_size: pairs, steps, beta: 0.1, lr: 1e-5, threads };
      const r = run(PYTHON, [path.resolve(__dirname, '../../bench/pytorch/dpo_step.py'), JSON.stringify(a)]);
      return r ? median(r.step_seconds as number[]) : undefined;
    };
    t.ours1 = ours('live', 1);
    t.torch1 = torch(1);
    t.ours2 = ours('live', 2);
    t.torch2 = torch(2);
    t.cached2 = ours('cached', 2);
    process.stderr.write(`${shape}: policy-only forward+backward, 2 threads…\n`);
    const fbArgs = ['--worker', 'wasm', '--shape', shape, '--steps', String(steps), '--seq', String(seq), '--threads', '2'];
    t.fb2 = run(process.execPath, [path.join(__dirname, 'forward-backward.js'), ...fbArgs])?.medianSeconds as number | undefined;
    process.stderr.write(`${shape}: TRL DPOTrainer, 2 threads…\n`);
    const trlArgs = {
      model: path.join(dir, 'model'),
      data: path.join(dir, 'pairs.jsonl'),
      batch_size: pairs,
      steps,
      threads: 2,
      max_length: seq,
      out: path.join(dir, 'trl'),
    };
    t.trl2 = run(PYTHON, [path.resolve(__dirname, '../../bench/pytorch/trl_step.py'), JSON.stringify(trlArgs)])?.median as number | undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.load.push(load());
  return t;
}

const f = (x?: number, d = 3) => (x === undefined ? '—' : x.toFixed(d));
const ratio = (a?: number, b?: number) => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2));

async function main() {
  const { values } = parseArgs({
    options: { shapes: { type: 'string', default: 'small,llama-gqa-small' }, steps: { type: 'string', default: '3' }, reps: { type: 'string', default: '7' } },
  });
  const [pairs, seq, steps] = [4, 128, Number(values.steps)];
  const cpu = os.cpus();
  console.log(`${new Date().toISOString()}, ${cpu[0].model}, ${cpu.length} cores, Node ${process.version}; load average at start ${load()}`);
  const mm = measureMatmuls([1, 2], Number(values.reps));
  console.log(`\nMatrix products, GFLOP/s (median of ${values.reps}); load average after: ${load()}`);
  for (const l of matmulTable(mm)) console.log(l);
  const rows: string[] = [];
  const extra: string[] = [];
  for (const shape of values.shapes!.split(',')) {
    const t = timeShape(shape, pairs, seq, steps);
    rows.push(
      `| ${shape} | ${f(t.ours1)} | ${f(t.ours2)} | ${f(t.torch1)} | ${f(t.torch2)} | ${f(t.trl2)} | ${ratio(t.ours2, Math.min(t.torch1 ?? Infinity, t.torch2 ?? Infinity))} | ${ratio(t.ours1, t.torch1)} | ${ratio(t.ours2, t.trl2)} | ${ratio(t.ours1, t.ours2)} |`,
    );
    extra.push(`| ${shape} | ${f(t.cached2)} | ${f(t.fb2)} | ${ratio(t.cached2, t.fb2)} | ${t.load.join(' → ')} |`);
  }
  console.log(`\nDPO step (s, median of ${steps} after a warm-up), ${pairs} pairs × 2 × ${seq} tokens, live reference`);
  console.log(
    '| shape | ours 1 thr | ours 2 thr | PyTorch 1 thr | PyTorch 2 thr | TRL 2 thr | ours (2) / PyTorch fastest | ours / PyTorch, 1 thr each | ours (2) / TRL (2) | ours 1 thr / 2 thr |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\nCached-reference DPO step against a policy-only forward+backward, 2 threads');
  console.log('| shape | cached-reference step (s) | policy forward+backward (s) | ratio | load average (1, 5, 15 min) before → after |');
  console.log('|---|---|---|---|---|');
  for (const r of extra) console.log(r);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
