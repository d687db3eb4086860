// npm run bench:triage-speed: pairs per CPU-second of `writeLogps` (what `dpo triage` and `dpo
// logps` run; the reference precompute scores the same way) on the tiny model (GPT-2, 2 layers, d 64,
// byte vocabulary) and 1000 pairs made here, the previous scorer against the current one, and the
// torch engine's `python -m dpo_studio.logps` on the same pairs, each in its own process, interleaved.
// Usage: node out/bench/triage-speed.js [--pairs 1000] [--reps 2] [--batch 8] [--threads 1] [--no-torch]
import { execSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeTinyModel, TINY_MODEL_DEFAULTS } from '../src/engine/model/tiny';
import { torchPython } from '../src/node/torch-env';

const WORDS = ['the', 'film', 'was', 'a', 'quiet', 'story', 'about', 'rain', 'and', 'old', 'friends', 'who', 'never', 'left', 'town'];

/** Deterministic text of `bytes` bytes from a small word list (seeded, so every run scores the same pairs). */
function text(bytes: number, seed: number): string {
  let s = '';
  let x = seed;
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    s += (s ? ' ' : '') + WORDS[x % WORDS.length];
  }
  return s.slice(0, bytes);
}

/** `n` pairs: prompts of 10–60 bytes, responses of 10–130 bytes (the earlier measurement's spread). */
export function writeSpeedPairs(file: string, n: number): void {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = (k: number, lo: number, hi: number) => lo + ((i * 7919 + k * 104729) % (hi - lo + 1));
    rows.push(JSON.stringify({ prompt: text(len(1, 10, 60), i), chosen: ' ' + text(len(2, 10, 130), i + 1), rejected: ' ' + text(len(3, 10, 130), i + 2) }));
  }
  fs.writeFileSync(file, rows.join('\n') + '\n');
}

interface Measure {
  pairs: number;
  cpuSeconds: number;
  /** CPU seconds of writeLogps alone (the torch run reports its whole process only). */
  scoringCpuSeconds?: number;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** One embedded-engine run in this process: selects wasm with `threads`, runs writeLogps, prints a JSON line. */
async function worker(variant: string, dir: string, batch: number, threads: number): Promise<void> {
  const { selectBackend } = await import('../src/engine/backend');
  const { writeLogps } = await import('../src/engine/dpo/logps-file');
  await selectBackend('wasm', threads);
  const start = cpuSeconds();
  const r = await writeLogps({
    modelDir: path.join(dir, 'model'),
    dataFile: path.join(dir, 'pairs.jsonl'),
    outFile: path.join(dir, `${variant}.jsonl`),
    batchSize: batch,
    skipBadLines: false,
    sortByLength: true,
    scorer: variant === 'before' ? 'per-row' : 'sequences',
    activationFloats: process.env.DPO_BENCH_ACTIVATION_FLOATS ? Number(process.env.DPO_BENCH_ACTIVATION_FLOATS) : undefined,
  });
  const m: Measure = { pairs: r.written, cpuSeconds: cpuSeconds(), scoringCpuSeconds: cpuSeconds() - start };
  console.log(JSON.stringify(m));
}

function lastJson(out: string): Measure | undefined {
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '') as Measure;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Measure | undefined {
  const child = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  const r = lastJson(child.stdout);
  if (!r)
    process.stderr.write(`${cmd} ${args.slice(0, 3).join(' ')} failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  return r;
}

/** The torch engine's logps module in one process, its whole CPU time (imports included) from getrusage. */
function torchRun(dir: string): Measure | undefined {
  const out = path.join(dir, 'torch.jsonl');
  const script = [
    'import json, resource, runpy, sys',
    `sys.argv = ["logps", "--model", ${JSON.stringify(path.join(dir, 'model'))}, "--data", ${JSON.stringify(path.join(dir, 'pairs.jsonl'))}, "--out", ${JSON.stringify(out)}]`,
    'runpy.run_module("dpo_studio.logps", run_name="__main__")',
    'r = resource.getrusage(resource.RUSAGE_SELF)',
    `n = sum(1 for _ in open(${JSON.stringify(out)}))`,
    'print(json.dumps({"pairs": n, "cpuSeconds": r.ru_utime + r.ru_stime}))',
  ].join('\n');
  return run(torchPython(), ['-c', script], { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONPATH: path.resolve(__dirname, '../../python') });
}

const load = () =>
  execSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/^.*load average: /, '');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'string' },
      dir: { type: 'string' },
      pairs: { type: 'string', default: '1000' },
      reps: { type: 'string', default: '2' },
      batch: { type: 'string', default: '8' },
      threads: { type: 'string', default: '1' },
      'no-torch': { type: 'boolean', default: false },
    },
  });
  const batch = Number(values.batch);
  const threads = Number(values.threads);
  if (values.worker) return worker(values.worker, values.dir!, batch, threads);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-triage-speed-'));
  try {
    makeTinyModel(path.join(dir, 'model'), { ...TINY_MODEL_DEFAULTS, seed: 0 });
    writeSpeedPairs(path.join(dir, 'pairs.jsonl'), Number(values.pairs));
    const withTorch = !values['no-torch'] && fs.existsSync(torchPython());
    const results: Record<string, Measure[]> = { before: [], after: [], torch: [] };
    const loads = [load()];
    for (let rep = 0; rep < Number(values.reps); rep++) {
      for (const variant of ['before', 'after']) {
        process.stderr.write(`rep ${rep + 1}: embedded, ${variant}…\n`);
        const args = [path.join(__dirname, 'triage-speed.js'), '--worker', variant, '--dir', dir, '--batch', String(batch), '--threads', String(threads)];
        const m = run(process.execPath, args);
        if (m) results[variant].push(m);
      }
      if (withTorch) {
        process.stderr.write(`rep ${rep + 1}: torch engine…\n`);
        const m = torchRun(dir);
        if (m) results.torch.push(m);
      }
      loads.push(load());
    }
    const rate = (m: Measure, scoring = false) => m.pairs / (scoring ? m.scoringCpuSeconds! : m.cpuSeconds);
    const cell = (ms: Measure[], scoring = false) => (ms.length ? ms.map((m) => rate(m, scoring).toFixed(1)).join(', ') : '—');
    console.log(`\n${os.cpus()[0].model}, ${os.cpus().length} cores; wasm, ${threads} thread(s), batch ${batch} by length; load ${loads.join(' → ')}\n`);
    console.log('| scorer | pairs/CPU-s, whole process | pairs/CPU-s, writeLogps alone |');
    console.log('|---|---|---|');
    console.log(`| embedded, before (a forward per row) | ${cell(results.before)} | ${cell(results.before, true)} |`);
    console.log(`| embedded, now | ${cell(results.after)} | ${cell(results.after, true)} |`);
    console.log(`| torch engine, OMP_NUM_THREADS=1 | ${withTorch ? cell(results.torch) : 'not set up'} | |`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
