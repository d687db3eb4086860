// The run folder on disk: the one writer (RunFolder, used by the embedded engine) and the one reader
// (the functions below, used by the CLI and the extension host). What the files hold is defined in
// src/protocol/run-folder.ts; this file only moves those records to and from disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DpoConfig,
  MetricsSplit,
  PairRecord,
  ParsedLines,
  RUN_FILES,
  RunRecord,
  StatusRecord,
  TRAINER_STATE,
  pairRecordLine,
  parseLines,
  parsePairRecord,
  parseRunRecord,
  resolveConfig,
  runRecordLine,
} from '../protocol';
import { appendLinesSync, removeDeleting, removeDirAtomic, writeFileAtomic } from './fs-atomic';

export type RunFileName = keyof typeof RUN_FILES;

export function runFile(dir: string, name: RunFileName): string {
  return path.join(dir, RUN_FILES[name]);
}

export class RunFolder {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints), { recursive: true });
  }

  file(name: RunFileName): string {
    return runFile(this.dir, name);
  }

  /** Appends metrics.jsonl records, flushed to disk. */
  record(...records: RunRecord[]): void {
    appendLinesSync(this.file('metrics'), records.map(runRecordLine));
  }

  /** A status record stamped with the current time. */
  status(s: Omit<StatusRecord, 'kind' | 'time'>): void {
    this.record({ kind: 'status', ...s, time: new Date().toISOString() });
  }

  pairs(records: PairRecord[]): void {
    appendLinesSync(this.file('pairs'), records.map(pairRecordLine));
  }

  log(message: string): void {
    appendLinesSync(this.file('log'), [`${new Date().toISOString()} ${message}`]);
  }

  writeJson(name: 'config', value: unknown): void {
    writeFileAtomic(this.file(name), JSON.stringify(value, null, 2) + '\n');
  }

  checkpointDir(step: number): string {
    return path.join(this.dir, RUN_FILES.checkpoints, `step-${step}`);
  }

  /** Complete checkpoints, oldest first. */
  checkpoints(): { step: number; dir: string }[] {
    return completeCheckpoints(this.dir);
  }

  /**
   * Writes a checkpoint through `write(tmpDir)`, then renames it into place. A crash mid-write
   * leaves only a `.tmp-step-N` folder, which resume ignores and the next write removes.
   */
  async writeCheckpoint(step: number, write: (tmpDir: string) => Promise<void>, keep: number | null): Promise<string> {
    const final = this.checkpointDir(step);
    const root = path.join(this.dir, RUN_FILES.checkpoints);
    const tmp = path.join(root, `.tmp-step-${step}`);
    removeDeleting(root);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    await write(tmp);
    // Old checkpoints go by rename first: a kill part way through a recursive delete would leave a
    // step-N with its trainer_state.json but without weights or optimizer state.
    removeDirAtomic(final);
    fs.renameSync(tmp, final);
    if (keep !== null) {
      const all = this.checkpoints();
      for (const old of all.slice(0, Math.max(0, all.length - keep))) removeDirAtomic(old.dir);
    }
    return final;
  }

  /**
   * Drops metrics and pairs lines logged after `step` (work a resumed run will redo). Lines are kept
   * or dropped by their step alone, so records this version cannot read survive untouched.
   */
  truncateAfter(step: number): void {
    for (const name of ['metrics', 'pairs'] as const) {
      const file = this.file(name);
      if (!fs.existsSync(file)) continue;
      const kept = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => {
          if (!line.trim()) return false;
          try {
            return (JSON.parse(line) as { step: number }).step <= step;
          } catch {
            return false; // a torn last line from a crash
          }
        });
      writeFileAtomic(file, kept.length ? kept.join('\n') + '\n' : '');
    }
  }
}

/** Complete checkpoints (checkpoints/step-N holding trainer_state.json), oldest first. */
export function completeCheckpoints(dir: string): { step: number; dir: string }[] {
  const root = path.join(dir, RUN_FILES.checkpoints);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((name) => ({ name, m: /^step-(\d+)$/.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null && fs.existsSync(path.join(root, e.name, TRAINER_STATE)))
    .map((e) => ({ step: Number(e.m[1]), dir: path.join(root, e.name) }))
    .sort((a, b) => a.step - b.step);
}

function readText(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

/** Every record of metrics.jsonl, in file order (old kind-less lines too; a torn last line is dropped). */
export function readRunRecords(dir: string): ParsedLines<RunRecord> {
  return parseLines(readText(runFile(dir, 'metrics')), parseRunRecord, true);
}

/** The pairs of one logged step and split, worst margin first. */
export function readPairs(dir: string, step: number, split: MetricsSplit): PairRecord[] {
  return parseLines(readText(runFile(dir, 'pairs')), parsePairRecord, true)
    .records.filter((p) => p.step === step && p.split === split)
    .sort((a, b) => a.margin - b.margin);
}

/** The run's resolved config (config.json), or why it cannot be read. */
export function readRunConfig(dir: string): { ok: true; config: DpoConfig } | { ok: false; error: string } {
  const file = runFile(dir, 'config');
  if (!fs.existsSync(file)) return { ok: false, error: `${dir} is not a run folder (no ${RUN_FILES.config})` };
  try {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    return { ok: true, config: resolveConfig(raw, file) };
  } catch (err) {
    return { ok: false, error: `${file}: ${(err as Error).message} (written by another version of DPO Studio?)` };
  }
}
