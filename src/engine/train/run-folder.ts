// The run folder: config.json, metrics.jsonl and pairs.jsonl (appended and flushed per logged step),
// log.txt, checkpoints/step-N/ (written to a temp folder, then renamed: a folder named step-N is
// always complete) and final/. Everything a panel or a resumed run needs is here.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  pairs: 'pairs.jsonl',
  log: 'log.txt',
  checkpoints: 'checkpoints',
  final: 'final',
  refCache: 'ref-logps',
} as const;

/** The marker written last inside a checkpoint; a step folder without it is ignored. */
export const TRAINER_STATE = 'trainer_state.json';

export class RunFolder {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints), { recursive: true });
  }

  file(name: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[name]);
  }

  /** Appends lines and flushes them to disk: a crash loses at most the line being written. */
  append(name: 'metrics' | 'pairs' | 'log', lines: string[]): void {
    if (lines.length === 0) return;
    const fd = fs.openSync(this.file(name), 'a');
    try {
      fs.writeSync(fd, lines.join('\n') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  log(message: string): void {
    this.append('log', [`${new Date().toISOString()} ${message}`]);
  }

  writeJson(name: 'config', value: unknown): void {
    writeFileAtomic(this.file(name), JSON.stringify(value, null, 2) + '\n');
  }

  checkpointDir(step: number): string {
    return path.join(this.dir, RUN_FILES.checkpoints, `step-${step}`);
  }

  /** Complete checkpoints, oldest first. */
  checkpoints(): { step: number; dir: string }[] {
    const root = path.join(this.dir, RUN_FILES.checkpoints);
    if (!fs.existsSync(root)) return [];
    return fs
      .readdirSync(root)
      .map((name) => ({ name, m: /^step-(\d+)$/.exec(name) }))
      .filter((e) => e.m && fs.existsSync(path.join(root, e.name, TRAINER_STATE)))
      .map((e) => ({ step: Number(e.m![1]), dir: path.join(root, e.name) }))
      .sort((a, b) => a.step - b.step);
  }

  /**
   * Writes a checkpoint through `write(tmpDir)`, then renames it into place. A crash mid-write
   * leaves only a `.tmp-step-N` folder, which resume ignores and the next write removes.
   */
  async writeCheckpoint(step: number, write: (tmpDir: string) => Promise<void>, keep: number | null): Promise<string> {
    const final = this.checkpointDir(step);
    const tmp = path.join(this.dir, RUN_FILES.checkpoints, `.tmp-step-${step}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    await write(tmp);
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
    if (keep !== null) {
      const all = this.checkpoints();
      for (const old of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(old.dir, { recursive: true, force: true });
    }
    return final;
  }

  /** Drops metrics and pairs lines logged after `step` (work a resumed run will redo). */
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

export function writeFileAtomic(file: string, content: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
