// Small DPO/SFT runs for the trainer tests: a tiny model and generated pairs with a clear preference.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DpoConfig, MetricsRecord, resolveConfig } from '../../../src/protocol';
import { RunOptions, RunResult, Trainer } from '../../../src/engine/train/trainer';
import { selectBackend } from '../../../src/engine/backend';
import { tinyModel, writeJsonl } from './fixtures';

export function makePairs(file: string, n: number): string {
  const rows = Array.from({ length: n }, (_, i) => ({
    prompt: `Q${i % 7}: say yes?`,
    chosen: i % 2 ? ' yes, gladly.' : ' yes.',
    rejected: i % 3 ? ' NO!!' : ' no way.',
  }));
  return writeJsonl(file, rows);
}

export interface TestRun {
  result: RunResult;
  /** The metrics events, flat as on disk ({step, epoch, ...values}), train and eval in one list. */
  metrics: Record<string, number>[];
  warnings: string[];
  dir: string;
}

/** A run with small defaults; `overrides` are config fields. */
export async function testRun(
  root: string,
  name: string,
  overrides: Partial<DpoConfig> & Record<string, unknown>,
  opts: Partial<RunOptions> = {},
): Promise<TestRun> {
  const model = path.join(root, 'model');
  if (!fs.existsSync(model)) tinyModel(model, { layers: 1, dModel: 32, heads: 2, maxPositions: 64, seed: 1 });
  const data = path.join(root, 'pairs.jsonl');
  if (!fs.existsSync(data)) makePairs(data, 24);
  const dir = path.join(root, name);
  const config = resolveConfig({
    model,
    data,
    output_dir: dir,
    batch_size: 2,
    learning_rate: 1e-3,
    max_steps: 6,
    eval_fraction: 0.25,
    eval_steps: 3,
    save_steps: 100,
    warmup_ratio: 0,
    seed: 3,
    ...overrides,
  });
  return runWith(Trainer.create(config, await options(opts)), dir);
}

export async function resumeRun(dir: string, opts: Partial<RunOptions> = {}): Promise<TestRun> {
  return runWith(
    Trainer.resume(dir, await options(opts), (raw) => resolveConfig(raw)),
    dir,
  );
}

async function options(opts: Partial<RunOptions>): Promise<RunOptions> {
  return { backend: await selectBackend('wasm'), ...opts };
}

async function runWith(trainer: Trainer, dir: string): Promise<TestRun> {
  const metrics: Record<string, number>[] = [];
  const warnings: string[] = [];
  trainer['events'].onMetrics = (m: MetricsRecord) => metrics.push({ step: m.step, epoch: m.epoch, ...m.values });
  trainer['events'].onWarning = (w: { code: string }) => warnings.push(w.code);
  const result = await trainer.run();
  return { result, metrics, warnings, dir };
}

export function readJsonl<T = Record<string, number>>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/**
 * Metrics without wall-clock fields and the process-wide tensor count, which legitimately differ,
 * and without status records (their time, and a resumed run's extra stopped/running pair).
 */
export function deterministicPart(records: Record<string, number>[]): Record<string, number>[] {
  return records
    .filter((r) => (r.kind as unknown) !== 'status')
    .map((r) => {
      const { tokens_per_second: _a, elapsed_seconds: _b, 'memory/num_tensors': _c, ...rest } = r;
      return rest;
    });
}
