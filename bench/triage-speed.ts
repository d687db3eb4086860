// npm run bench:triage-speed: pairs per CPU-second of `writeLogps` (what `dpo triage` and `dpo
// logps` run; the reference precompute scores the same way) on the tiny model (GPT-2, 2 layers, d 64,
// byte vocabulary) and 1000 pairs made here, the previous scorer against the current one, and the
// torch engine's `python -m dpo_studio.logps` on the same pairs, each in its own process, interleaved.
// --ref measures the reference precompute instead (`computeRefLogps`, what `dpo train` runs with
// precompute_ref_log_probs): the earlier pair batches through the training step's logps.ts against
// the current row batches, the torch engine's logps module (the same quantity) beside them.
// Usage: node out/bench/triage-speed.js [--ref] [--pairs 1000] [--reps 2] [--batch 8] [--threads 1] [--no-torch]
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
  if (variant.startsWith('ref-')) return refWorker(variant, dir, batch);
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

/** The reference precompute on the bench's pairs: tokenized as `dpo train` does, then computeRefLogps (or the earlier loop). */
async function refWorker(variant: string, dir: string, batch: number): Promise<void> {
  const { loadTokenizer } = await import('../src/engine/tokenizer/tokenizer');
  const { readPreferenceFile } = await import('../src/engine/data/preferences');
  const { tokenizePairs } = await import('../src/engine/data/tokenize');
  const { loadModel } = await import('../src/engine/model/checkpoint');
  const { computeRefLogps } = await import('../src/engine/dpo/ref-cache');
  const { computeSequenceLogps } = await import('../src/engine/dpo/logps');
  const { collatePairs } = await import('../src/engine/data/batch');
  const modelDir = path.join(dir, 'model');
  const tokenizer = loadTokenizer(modelDir);
  const data = readPreferenceFile(path.join(dir, 'pairs.jsonl'), { skipBadLines: false });
  const { model } = loadModel(modelDir, { trainable: false });
  const pairs = tokenizePairs(tokenizer, data.pairs, { maxLength: model.config.maxPositions }).pairs;
  const padId = tokenizer.padId ?? 0;
  const start = cpuSeconds();
  let out: Map<number, [number, number]>;
  if (variant === 'ref-before') {
    // The earlier computeRefLogps: pair batches (chosen rows, then rejected) sorted by prompt + longer answer.
    out = new Map();
    const longest = (p: (typeof pairs)[number]) => p.promptIds.length + Math.max(p.chosenIds.length, p.rejectedIds.length);
    const ordered = [...pairs].sort((a, b) => longest(a) - longest(b));
    for (let i = 0; i < ordered.length; i += batch) {
      const chunk = ordered.slice(i, i + batch);
      const logps = await computeSequenceLogps(model, collatePairs(chunk, padId));
      chunk.forEach((p, j) => out.set(p.line, [logps[j], logps[chunk.length + j]]));
      await new Promise(setImmediate);
    }
  } else out = await computeRefLogps(model, pairs, batch, padId);
  const scoring = cpuSeconds() - start;
  const file = path.join(dir, `${variant}.json`);
  fs.writeFileSync(file, JSON.stringify([...out].sort((a, b) => a[0] - b[0])));
  model.dispose();
  const m: Measure = { pairs: out.size, cpuSeconds: cpuSeconds(), scoringCpuSeconds: scoring };
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
      ref: { type: 'boolean', default: false },
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
    const variants = values.ref ? ['ref-before', 'ref-now'] : ['before', 'after'];
    const results: Record<string, Measure[]> = { [variants[0]]: [], [variants[1]]: [], torch: [] };
    const loads = [load()];
    for (let rep = 0; rep < Number(values.reps); rep++) {
      for (const variant of variants) {
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
    const alone = values.ref ? 'computeRefLogps alone' : 'writeLogps alone';
    console.log(`| scorer | pairs/CPU-s, whole process | pairs/CPU-s, ${alone} |`);
    console.log('|---|---|---|');
    const [first, second] = values.ref
      ? ['embedded, before (pair batches)', 'embedded, now (row batches)']
      : ['embedded, before (a forward per row)', 'embedded, now'];
    console.log(`| ${first} | ${cell(results[variants[0]])} | ${cell(results[variants[0]], true)} |`);
    console.log(`| ${second} | ${cell(results[variants[1]])} | ${cell(results[variants[1]], true)} |`);
    console.log(`| torch engine, OMP_NUM_THREADS=1 | ${withTorch ? cell(results.torch) : 'not set up'} | |`);
    if (values.ref) {
      // Both batchings must give the training step's values bit for bit, so the two files agree exactly.
      const read = (v: string) => new Map(JSON.parse(fs.readFileSync(path.join(dir, `${v}.json`), 'utf8')) as [number, [number, number]][]);
      const [a, b] = variants.map(read);
      const differ = [...a].filter(([line, [c, r]]) => b.get(line)?.[0] !== c || b.get(line)?.[1] !== r).length;
      console.log(`\npairs whose reference log-probs differ between the two batchings (===): ${differ} of ${a.size}`);
    }
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
