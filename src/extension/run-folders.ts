// Reads run folders from disk (config.json, metrics.jsonl, checkpoints/, final/), so finished,
// stopped and crashed runs can be listed and resumed after VS Code restarts.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunFolderInfo {
  dir: string;
  mode: string;
  lastStep: number;
  lastLoss?: number;
  checkpoints: number[];
  finished: boolean;
  modified: number;
}

function lastMetrics(file: string): { step: number; loss?: number } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const r = JSON.parse(line) as { step: number; loss?: number };
      if (typeof r.step === 'number') return r;
    } catch {
      // a torn last line from a crash
    }
  }
  return undefined;
}

export function readRunFolder(dir: string): RunFolderInfo | undefined {
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) return undefined;
  let mode = 'dpo';
  try {
    mode = (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { mode?: string }).mode ?? 'dpo';
  } catch {
    return undefined;
  }
  const ckptRoot = path.join(dir, 'checkpoints');
  const checkpoints = fs.existsSync(ckptRoot)
    ? fs.readdirSync(ckptRoot).map((n) => /^step-(\d+)$/.exec(n)).filter((m): m is RegExpExecArray => !!m && fs.existsSync(path.join(ckptRoot, m[0], 'trainer_state.json'))).map((m) => Number(m[1])).sort((a, b) => a - b)
    : [];
  const last = lastMetrics(path.join(dir, 'metrics.jsonl'));
  return {
    dir, mode, lastStep: last?.step ?? 0, lastLoss: last?.loss, checkpoints,
    finished: fs.existsSync(path.join(dir, 'final', 'model.safetensors')), modified: fs.statSync(configFile).mtimeMs,
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

/** Metrics lines of a run, in file order; a torn last line (a crash mid-write) is skipped. */
export function readMetrics(dir: string): Record<string, number>[] {
  const file = path.join(dir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  return parseJsonLines(fs.readFileSync(file, 'utf8')).records;
}

/** Complete JSON lines of a chunk of JSONL text, and what is left after the last newline. */
export function parseJsonLines(text: string): { records: Record<string, number>[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  const records: Record<string, number>[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      // not a complete record: skipped, never fatal
    }
  }
  return { records, rest };
}

export interface LoggedWarning {
  code: string;
  step: number;
  message: string;
}

/** Warnings a run logged (log.txt lines `… warning [code] step N: message`). */
export function readWarnings(dir: string): LoggedWarning[] {
  const file = path.join(dir, 'log.txt');
  if (!fs.existsSync(file)) return [];
  const out: LoggedWarning[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /warning \[([a-z-]+)\] step (\d+): (.*)$/.exec(line);
    if (m) out.push({ code: m[1], step: Number(m[2]), message: m[3] });
  }
  return out;
}

/** The pairs of one logged step (pairs.jsonl), worst margin first. */
export function readPairs(dir: string, step: number, split: string): Record<string, number | string>[] {
  const file = path.join(dir, 'pairs.jsonl');
  if (!fs.existsSync(file)) return [];
  const out: Record<string, number | string>[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(`"step":${step},`)) continue; // cheap pre-filter before parsing
    try {
      const p = JSON.parse(line) as Record<string, number | string>;
      if (p.step === step && p.split === split) out.push(p);
    } catch {
      // torn line
    }
  }
  return out.sort((a, b) => (a.margin as number) - (b.margin as number));
}

/** CSV of several runs' metrics: one row per metrics line, a column per metric name seen. */
export function metricsCsv(runs: { name: string; records: Record<string, number>[] }[]): string {
  const keys = new Set<string>();
  for (const r of runs) for (const rec of r.records) for (const k of Object.keys(rec)) keys.add(k);
  const rest = [...keys].filter((k) => k !== 'step' && k !== 'epoch').sort();
  const header = ['run', 'step', 'epoch', ...rest];
  const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = runs.flatMap((r) => r.records.map((rec) => [esc(r.name), ...['step', 'epoch', ...rest].map((k) => (rec[k] === undefined ? '' : String(rec[k])))].join(',')));
  return [header.join(','), ...rows].join('\n') + '\n';
}

/** The data file a pair's line number refers to. */
export function dataFileOf(dir: string, split: string): string | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { data: string; eval_data: string | null };
    return split === 'eval' && c.eval_data ? c.eval_data : c.data;
  } catch {
    return undefined;
  }
}
