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
