// progress.json: the latest progress event of a run that `dpo train` drives, so that a metrics panel
// in another process (a run started in a terminal) shows the same phase words and bar as a run the
// extension started. Replaced by rename (a reader never sees half a file), at most a few times a second,
// removed when the run ends; a reader also checks that the run's writer still lives (run.lock).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProgressFile, RUN_FILES, RunPhase, parseProgressFile } from '../protocol';

/** Writes often enough for a progress bar, seldom enough not to matter next to a step. */
const MIN_INTERVAL_MS = 250;

export class ProgressFileWriter {
  private dir: string | undefined;
  private last: ProgressFile | undefined;
  private writtenAt = 0;
  private writtenPhase: RunPhase | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `runDir` may come later (a torch run's folder is known once the engine answers run/start). */
  constructor(runDir?: string) {
    this.dir = runDir;
  }

  setRunDir(runDir: string): void {
    this.dir = runDir;
    this.flush();
  }

  update(phase: RunPhase, done: number, total: number, message?: string): void {
    this.last = { phase, done, total, ...(message ? { message } : {}), time: new Date().toISOString() };
    const wait = this.writtenAt + MIN_INTERVAL_MS - Date.now();
    // A phase change is written at once; counts within a phase at most every MIN_INTERVAL_MS (the last one later).
    if (wait <= 0 || done === total || phase !== this.writtenPhase) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait).unref();
  }

  /** The run ended: no more progress to show (the status records say how it ended). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.last = undefined;
    if (this.dir) fs.rmSync(path.join(this.dir, RUN_FILES.progress), { force: true });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dir || !this.last || !fs.existsSync(this.dir)) return;
    const file = path.join(this.dir, RUN_FILES.progress);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(this.last) + '\n');
      fs.renameSync(tmp, file);
      this.writtenAt = Date.now();
      this.writtenPhase = this.last.phase;
    } catch {
      fs.rmSync(tmp, { force: true }); // a full or read-only disk costs the progress bar, never the run
    }
  }
}

/** A run's progress.json, or undefined when it has none or it does not parse. */
export function readProgressFile(runDir: string): ProgressFile | undefined {
  try {
    const parsed = parseProgressFile(JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.progress), 'utf8')));
    return parsed.ok ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}
