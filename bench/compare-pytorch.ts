// Our DPO step against PyTorch eager on the same CPU, same weights, same tokens, one run.
// A shape is timed only if both agree on the policy's first-step log-probs and on the loss after
// one update (1e-4 relative); otherwise the speed is not reported.
// Needs Debian's python3-torch and libopenblas0-pthread (apt-get install -y python3-torch libopenblas0-pthread).
// Usage: node out/bench/compare-pytorch.js [--shapes tiny,small,llama-gqa-small,gpt2-small] [--pairs 4] [--seq 128] [--steps 4]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeTinyModel } from '../src/engine/model/tiny';
import { SHAPES, writePairs } from './dpo-step';

const PYTHON = process.env.DPO_BENCH_PYTHON ?? '/usr/bin/python3';
const TORCH_SCRIPT = path.resolve(__dirname, '../../bench/pytorch/dpo_step.py');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));

function lastJson(out: string): Record<string, unknown> | undefined {
  const line = out.trim().split('\n').pop();
  try {
    return line ? JSON.parse(line) : undefined;
  } catch {
    return undefined;
  }
}

function main() {
  const { values } = parseArgs({
    options: {
      shapes: { type: 'string', default: 'tiny,small,llama-gqa-small,gpt2-small' },
      pairs: { type: 'string', default: '4' },
      seq: { type: 'string', default: '128' },
      steps: { type: 'string', default: '4' },
    },
  });
  const [pairs, seq, steps] = [Number(values.pairs), Number(values.seq), Number(values.steps)];
  const rows: string[] = [];
  const notes: string[] = [];
  for (const shape of values.shapes!.split(',')) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dpo-vs-torch-${shape}-`));
    makeTinyModel(path.join(dir, 'model'), { ...SHAPES[shape], maxPositions: Math.max(256, seq), seed: 0 });
    writePairs(path.join(dir, 'pairs.jsonl'), pairs * (steps + 1), seq, true);
    process.stderr.write(`${shape}: ours…\n`);
    const ours = spawnSync(
      process.execPath,
      [path.join(__dirname, 'dpo-step.js'), '--worker', 'live', '--dir', dir, '--pairs', String(pairs), '--steps', String(steps), '--seq', String(seq)],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    process.stderr.write(`${shape}: PyTorch…\n`);
    const torch = spawnSync(
      PYTHON,
      [
        TORCH_SCRIPT,
        JSON.stringify({
          model: path.join(dir, 'model'),
          data: path.join(dir, 'pairs.jsonl'),
          batch_size: pairs,
          steps,
          beta: 0.1,
          lr: 1e-5,
          threads: os.cpus().length,
        }),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const a = lastJson(ours.stdout) as { medianSeconds: number; peakRssMiB: number; losses: number[]; firstLogps: number[] } | undefined;
    const b = lastJson(torch.stdout) as
      { step_seconds: number[]; peak_rss_mib: number; losses: number[]; first_logps: number[]; threads: number; torch: string } | undefined;
    if (!a || !b) {
      rows.push(`| ${shape} | ${a ? a.medianSeconds.toFixed(3) : 'failed'} | ${b ? median(b.step_seconds).toFixed(3) : 'failed'} | | | | | not compared |`);
      notes.push(
        `${shape}: ${!a ? `ours failed (${(ours.stderr || '').trim().split('\n').slice(-2).join(' ')})` : ''} ${!b ? `PyTorch failed (${(torch.stderr || '').trim().split('\n').slice(-2).join(' ')})` : ''}`.trim(),
      );
      continue;
    }
    const diffs = [rel(a.firstLogps[0], b.first_logps[0]), rel(a.firstLogps[1], b.first_logps[1]), rel(a.losses[1], b.losses[1])];
    const agree = diffs.every((d) => d <= 1e-4);
    const tb = median(b.step_seconds);
    const tokens = pairs * 2 * seq;
    const agreement = `${agree ? 'yes' : 'NO'} (max rel. diff ${Math.max(...diffs).toExponential(1)})`;
    if (!agree) {
      rows.push(`| ${shape} | — | — | — | — | — | — | ${agreement}: speed not reported |`);
      continue;
    }
    rows.push(
      `| ${shape} | ${a.medianSeconds.toFixed(3)} | ${tb.toFixed(3)} | ${(tokens / a.medianSeconds).toFixed(0)} | ${(tokens / tb).toFixed(0)} | ${(a.medianSeconds / tb).toFixed(2)} | ${a.peakRssMiB.toFixed(0)} / ${b.peak_rss_mib.toFixed(0)} | ${agreement} |`,
    );
    notes.push(
      `${shape}: PyTorch ${b.torch}, ${b.threads} threads; losses ours ${a.losses.map((x) => x.toFixed(6)).join(' ')} vs PyTorch ${b.losses.map((x) => x.toFixed(6)).join(' ')}`,
    );
  }
  console.log(
    `DPO step, ours (wasm) vs PyTorch eager CPU, ${pairs} pairs × 2 × ${seq} tokens, live reference, ${os.cpus()[0].model}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    '| shape | ours median step (s) | PyTorch median step (s) | ours tokens/s | PyTorch tokens/s | ours / PyTorch time | peak RSS MiB ours / PyTorch | first-step agreement |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  for (const n of notes) console.log(`- ${n}`);
}

main();
