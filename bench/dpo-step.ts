// A full DPO training step (policy forward+backward on chosen and rejected, reference log-probs,
// loss, AdamW) through the real Trainer, with the reference computed live and from the precomputed
// cache, each variant in its own process. Step time is the gap between consecutive metrics lines.
// Usage: node out/bench/dpo-step.js [--shape small] [--pairs 4] [--seq 128] [--steps 5] [--backend NAME] [--threads N]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BackendName, resolveConfig } from '../src/protocol';
import { describeBackend, selectBackend } from '../src/engine/backend';
import { makeTinyModel } from '../src/engine/model/tiny';
import { Trainer } from '../src/engine/train/trainer';
import { Rng } from '../src/engine/rng';

export const SHAPES: Record<string, { family: 'gpt2' | 'llama'; layers: number; dModel: number; heads: number; kvHeads?: number; vocab: number }> = {
  tiny: { family: 'gpt2', layers: 2, dModel: 64, heads: 4, vocab: 259 },
  small: { family: 'gpt2', layers: 4, dModel: 256, heads: 4, vocab: 8192 },
  'llama-gqa-small': { family: 'llama', layers: 4, dModel: 256, heads: 8, kvHeads: 2, vocab: 8192 },
  'gpt2-small': { family: 'gpt2', layers: 12, dModel: 768, heads: 12, vocab: 50257 },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Pairs whose prompt is half the sequence and whose responses fill the rest (byte-level tokens). */
export function writePairs(file: string, n: number, seq: number, identical = false): void {
  const rng = new Rng(7);
  const text = (len: number) => Array.from({ length: len }, () => String.fromCharCode(97 + (rng.nextUint32() % 26))).join('');
  const half = Math.floor(seq / 2);
  // identical: every line the same pair, so any data order gives the same batches (for comparisons).
  const one = () => JSON.stringify({ prompt: text(half), chosen: text(seq - half - 1), rejected: text(seq - half - 1) });
  const first = one();
  const rows = Array.from({ length: n }, () => (identical ? first : one()));
  fs.writeFileSync(file, rows.join('\n') + '\n');
}

export async function worker(
  dir: string,
  precompute: boolean,
  pairs: number,
  steps: number,
  backendName?: BackendName,
  threads?: number,
): Promise<Record<string, unknown>> {
  const backend = await selectBackend(backendName, threads);
  const times: number[] = [];
  let last: number | undefined;
  let tokens = 0;
  const losses: number[] = [];
  let firstLogps: number[] | undefined;
  const config = resolveConfig({
    model: path.join(dir, 'model'),
    data: path.join(dir, 'pairs.jsonl'),
    output_dir: path.join(dir, `run-${precompute ? 'cached' : 'live'}-${process.pid}`),
    batch_size: pairs,
    max_steps: steps + 1,
    eval_fraction: 0,
    save_steps: 100000,
    learning_rate: 1e-5,
    warmup_ratio: 0,
    precompute_ref_log_probs: precompute,
    max_length: 2048,
  });
  const trainer = Trainer.create(config, {
    backend,
    events: {
      onMetrics: ({ values: m }) => {
        losses.push(m.loss);
        firstLogps ??= [m['logps/chosen'], m['logps/rejected']];
        if (last !== undefined) times.push(m.elapsed_seconds - last); // step 1 (warm-up) is not timed
        last = m.elapsed_seconds;
        tokens = m.tokens_per_second;
      },
    },
  });
  await trainer.run();
  const med = median(times);
  return {
    variant: precompute ? 'cached reference' : 'live reference',
    backend: describeBackend(backend),
    medianSeconds: med,
    spread: [Math.min(...times), Math.max(...times)],
    lastTokensPerSecond: tokens,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    stepSeconds: times,
    losses,
    firstLogps,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string', default: 'small' },
      pairs: { type: 'string', default: '4' },
      seq: { type: 'string', default: '128' },
      steps: { type: 'string', default: '5' },
      worker: { type: 'string' },
      dir: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const [pairs, seq, steps] = [Number(values.pairs), Number(values.seq), Number(values.steps)];
  if (values.worker) {
    process.stdout.write(
      JSON.stringify(await worker(values.dir!, values.worker === 'cached', pairs, steps, values.backend as BackendName | undefined, threads)) + '\n',
    );
    return;
  }
  const shape = SHAPES[values.shape!];
  if (!shape) throw new Error(`unknown --shape; one of ${Object.keys(SHAPES).join(', ')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-bench-'));
  makeTinyModel(path.join(dir, 'model'), { ...shape, maxPositions: Math.max(256, seq), seed: 0 });
  writePairs(path.join(dir, 'pairs.jsonl'), pairs * (steps + 1), seq);
  const rows: Record<string, unknown>[] = [];
  for (const variant of ['live', 'cached']) {
    const child = spawnSync(
      process.execPath,
      [
        __filename,
        '--worker',
        variant,
        '--dir',
        dir,
        '--pairs',
        String(pairs),
        '--steps',
        String(steps),
        '--seq',
        String(seq),
        ...(values.backend ? ['--backend', values.backend] : []),
        ...(values.threads ? ['--threads', values.threads] : []),
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (child.status !== 0) {
      console.log(`${variant}: failed (exit ${child.status}${child.signal ? `, ${child.signal}` : ''})`);
      continue;
    }
    rows.push(JSON.parse(child.stdout.trim().split('\n').pop()!));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const tokensPerStep = pairs * 2 * seq;
  console.log(
    `\nDPO step, shape ${values.shape}, ${pairs} pairs x 2 x ${seq} tokens, ${os.cpus()[0].model}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log('| reference | median step (s) | spread (s) | policy tokens/s | peak RSS (MiB) |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const [lo, hi] = r.spread as number[];
    console.log(
      `| ${r.variant} | ${(r.medianSeconds as number).toFixed(3)} | ${lo.toFixed(3)}–${hi.toFixed(3)} | ${(tokensPerStep / (r.medianSeconds as number)).toFixed(1)} | ${(r.peakRssMiB as number).toFixed(0)} |`,
    );
  }
  if (rows.length) console.log(rows[0].backend);
  if (rows.length === 2) console.log(`cached / live step time: ${((rows[1].medianSeconds as number) / (rows[0].medianSeconds as number)).toFixed(2)}`);
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
