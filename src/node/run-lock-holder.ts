// Who holds a run folder's run.lock, and whether that process still lives: read by the trainer that
// wants the folder (src/engine/train/run-lock.ts) and by the metrics panel, which shows a run another
// process writes (a terminal's `dpo train`) as running only while its writer lives. Not the taking.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUN_FILES } from '../protocol';

export interface RunLockInfo {
  pid: number;
  host: string;
  started: string;
}

/** The lock file's holder; undefined when there is none or it is not ours to read (treated as stale). */
export function readRunLockFile(file: string): RunLockInfo | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as RunLockInfo;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder still runs. Another host's process cannot be checked: it is assumed to. */
export function lockHolderAlive(lock: RunLockInfo): boolean {
  if (lock.host !== os.hostname()) return true;
  if (lock.pid === process.pid) return true; // another trainer in this very process
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The live writer of `runDir`, if a process holds its lock now. */
export function liveRunWriter(runDir: string): RunLockInfo | undefined {
  const held = readRunLockFile(path.join(runDir, RUN_FILES.lock));
  return held && lockHolderAlive(held) ? held : undefined;
}
