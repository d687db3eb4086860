// Short runs for the wiring tests, through the trainer's public API only (Trainer.create/resume/
// run), read back from the run folder (metrics.jsonl, pairs.jsonl, checkpoints, final/), with
// models sharpened so that log-probs, rewards and losses are far from their trivial values.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendName, PairRecord, resolveConfig } from '../../../src/protocol';
import { readRunRecords } from '../../../src/node/run-folder';
import { RunResult, Trainer } from '../../../src/engine/train/trainer';
import { selectBackend } from '../../../src/engine/backend';
import { readModelWeights, saveWeights } from '../../../src/engine/model/checkpoint';
import { WeightData } from '../../../src/engine/model/transformer';
import { tinyModel, writeJsonl } from './fixtures';
import { PairText } from './dpo-oracle';

/** Four pairs of different lengths (so summed and mean log-probs rank differently). */
export const WIRING_PAIRS: PairText[] = [
  { prompt: 'Q: sky?', chosen: ' blue', rejected: ' green and wet' },
  { prompt: 'Q: 2+2 equals what?', chosen: ' four, of course', rejected: ' 5' },
  { prompt: 'Say hi', chosen: ' hi!', rejected: ' no' },
  { prompt: 'Q: cats or dogs, and why?', chosen: ' both are fine', rejected: ' neither one' },
];

export function writePairs(file: string, rows: PairText[] = WIRING_PAIRS): string {
  return writeJsonl(file, rows);
}

/**
 * A tiny GPT-2 with its non-norm weights scaled by `scale`: random init gives near-uniform
 * log-probs, where a dropped term or a wrong factor moves the numbers too little to see.
 */
export function sharpModel(dir: string, seed: number, scale = 4): string {
  tinyModel(dir, { layers: 1, dModel: 32, heads: 2, maxPositions: 64, seed });
  const { config, weights } = readModelWeights(dir);
  for (const [name, w] of weights) if (!/ln_/.test(name)) w.data.forEach((v, i) => (w.data[i] = v * scale));
  saveWeights(dir, config, weights);
  return dir;
}

/** A metrics record's values with its step and epoch, under TRL's names (eval_ prefix on eval). */
export type FlatMetrics = Record<string, number>;

export interface RunRead {
  result?: RunResult;
  dir: string;
  /** Train metrics by step. */
  train: Map<number, FlatMetrics>;
  /** Eval metrics by step. */
  evals: Map<number, FlatMetrics>;
  pairs: PairRecord[];
}

export function backendName(): BackendName {
  return (process.env.DPO_TEST_BACKEND as BackendName | undefined) ?? 'wasm';
}

/** Train and eval metrics from metrics.jsonl, through the run-folder contract's reader. */
export function readRun(dir: string): RunRead {
  const train = new Map<number, FlatMetrics>();
  const evals = new Map<number, FlatMetrics>();
  for (const r of readRunRecords(dir).records) {
    if (r.kind !== 'metrics') continue;
    (r.split === 'eval' ? evals : train).set(r.step, { step: r.step, epoch: r.epoch, ...r.values });
  }
  const pairs = fs
    .readFileSync(path.join(dir, 'pairs.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PairRecord);
  return { dir, train, evals, pairs };
}

export interface RunControl {
  /** Called after each step; true stops the run (with a checkpoint). */
  shouldStop?: () => boolean;
}

/** A new run; fields not given take test defaults (one step, no eval, no warm-up, constant lr). */
export async function wiringRun(dir: string, fields: Record<string, unknown>, control: RunControl = {}): Promise<RunRead> {
  const config = resolveConfig({
    batch_size: 4,
    max_steps: 1,
    eval_fraction: 0,
    warmup_ratio: 0,
    lr_scheduler_type: 'constant',
    learning_rate: 1e-3,
    save_steps: 1000,
    seed: 1,
    ...fields,
    output_dir: dir,
  });
  const trainer = Trainer.create(config, { backend: await selectBackend(backendName()), shouldStop: control.shouldStop });
  return { ...readRunAfter(await trainer.run()), dir };
}

export async function wiringResume(dir: string): Promise<RunRead> {
  const trainer = Trainer.resume(dir, { backend: await selectBackend(backendName()) }, (raw) => resolveConfig(raw));
  return readRunAfter(await trainer.run());
}

function readRunAfter(result: RunResult): RunRead {
  return { ...readRun(result.runDir), result };
}

/** Pair records of one logged step and split, by data line. */
export function pairsAt(run: RunRead, step: number, split: 'train' | 'eval'): Map<number, PairRecord> {
  return new Map(run.pairs.filter((p) => p.step === step && p.split === split).map((p) => [p.line, p]));
}

export function weightsOf(dir: string): Map<string, WeightData> {
  return readModelWeights(dir).weights;
}

/** |a − b| ≤ tol·max(1, |b|), with a message naming the value. */
export function close(what: string, got: number | undefined, want: number, tol = 2e-4): void {
  if (got === undefined || !(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)))) {
    throw new Error(`${what}: got ${got}, want ${want}`);
  }
}
