// The host's view of run folders on disk, so finished, stopped and crashed runs can be listed,
// reopened and resumed after VS Code restarts. Reading the files is src/node/run-folder.ts's job;
// this file summarises them for pickers, the metrics panel and CSV export.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DpoConfig, MetricsRecord, MetricsSplit, RUN_FILES, RunRecord, StatusRecord, TrainingMode } from '../protocol';
import { completeCheckpoints, readRunConfig, readRunRecords, runFile } from '../node/run-folder';

export interface RunFolderInfo {
  dir: string;
  mode: TrainingMode;
  config: DpoConfig;
  lastStep: number;
  lastLoss?: number;
  checkpoints: number[];
  finished: boolean;
  /** The last status record; absent in folders from before status records. */
  lastStatus?: StatusRecord;
  modified: number;
}

export function readRunFolder(dir: string): RunFolderInfo | undefined {
  const read = readRunConfig(dir);
  if (!read.ok) return undefined;
  const { records } = readRunRecords(dir);
  const metrics = records.filter((r): r is MetricsRecord => r.kind === 'metrics');
  const lastTrain = metrics.filter((r) => r.split === 'train').pop();
  return {
    dir,
    mode: read.config.mode,
    config: read.config,
    lastStep: metrics[metrics.length - 1]?.step ?? 0,
    lastLoss: lastTrain?.values.loss,
    checkpoints: completeCheckpoints(dir).map((c) => c.step),
    finished: fs.existsSync(path.join(dir, RUN_FILES.final, 'model.safetensors')),
    lastStatus: records.filter((r): r is StatusRecord => r.kind === 'status').pop(),
    modified: fs.statSync(path.join(dir, RUN_FILES.config)).mtimeMs,
  };
}

/** Run folders under root, newest first. */
export function listRunFolders(root: string | undefined): RunFolderInfo[] {
  if (!root || !fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => readRunFolder(path.join(root, e.name)))
    .filter((r): r is RunFolderInfo => r !== undefined)
    .sort((a, b) => b.modified - a.modified);
}

/** Metrics records of a run, in file order. */
export function readMetrics(dir: string): MetricsRecord[] {
  return readRunRecords(dir).records.filter((r: RunRecord): r is MetricsRecord => r.kind === 'metrics');
}

/** CSV of several runs' metrics: one row per metrics record, a column per metric name seen. */
export function metricsCsv(runs: { name: string; records: MetricsRecord[] }[]): string {
  const keys = new Set<string>();
  for (const r of runs) for (const rec of r.records) for (const k of Object.keys(rec.values)) keys.add(k);
  const rest = [...keys].sort();
  const header = ['run', 'split', 'step', 'epoch', ...rest];
  const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = runs.flatMap((r) =>
    r.records.map((rec) =>
      [esc(r.name), rec.split, String(rec.step), String(rec.epoch), ...rest.map((k) => (rec.values[k] === undefined ? '' : String(rec.values[k])))].join(','),
    ),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}

/** The data file a pair's line number refers to. */
export function dataFileOf(dir: string, split: MetricsSplit): string | undefined {
  const read = readRunConfig(dir);
  if (!read.ok) return undefined;
  return split === 'eval' && read.config.eval_data ? read.config.eval_data : read.config.data;
}

/** Quick-pick rows for the models runs hold: each run's final model, then its checkpoints, newest first. */
export function modelPickItems(runs: RunFolderInfo[]): { label: string; description: string; dir: string }[] {
  return runs.flatMap((r) => [
    ...(r.finished ? [{ label: `$(package) ${path.basename(r.dir)}`, description: 'final model', dir: runFile(r.dir, 'final') }] : []),
    ...r.checkpoints
      .slice()
      .reverse()
      .map((step) => ({
        label: `$(history) ${path.basename(r.dir)}`,
        description: `checkpoint step ${step}`,
        dir: path.join(runFile(r.dir, 'checkpoints'), `step-${step}`),
      })),
  ]);
}

/** The legend's line about a run: engine, objective, β, learning rate ("tfjs · sigmoid · β 0.1 · lr 5e-4"). */
export function runDetail(c: DpoConfig): string {
  const loss: unknown = c.loss_type;
  const objective = c.mode === 'sft' ? 'SFT' : Array.isArray(loss) ? loss.join('+') : String(loss);
  const lr = c.learning_rate !== 0 && Math.abs(c.learning_rate) < 1e-3 ? c.learning_rate.toExponential() : String(c.learning_rate);
  return [c.engine, objective, ...(c.mode === 'sft' ? [] : [`β ${c.beta}`]), `lr ${lr}`].join(' · ');
}
