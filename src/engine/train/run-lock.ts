// One writer per run folder: `run.lock` holds the writer's pid, host and start time. A second
// trainer on the same folder fails with who holds it; a lock left by a process that died (kill -9)
// on this host is taken over. Not a lock against other hosts' dead processes: those are named, and
// the message says which file to delete.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUN_FILES } from '../../protocol/run-folder';
import { RunLockInfo as LockInfo, lockHolderAlive as alive, readRunLockFile as readLock } from '../../node/run-lock-holder';

export const LOCK_FILE = RUN_FILES.lock;

export class RunLockError extends Error {}

/** Takes the lock of `dir` (which must exist) or throws RunLockError; returns its release. */
export function acquireRunLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const text = JSON.stringify(mine) + '\n';
  const tmp = `${file}.${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, text);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // link() creates the name only if it is free, with the content already complete: atomic.
        fs.linkSync(tmp, file);
        return () => {
          const held = readLock(file);
          if (held && held.pid === mine.pid && held.started === mine.started) fs.rmSync(file, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunLockError(`${file}: cannot create the run lock (${(err as Error).message})`);
      }
      const held = readLock(file);
      if (held && alive(held)) {
        throw new RunLockError(
          `${dir} is in use by another run (pid ${held.pid} on ${held.host}, started ${held.started}); stop that run first` +
            `${held.host !== os.hostname() ? `, or delete ${file} if it is no longer running` : ''}`,
        );
      }
      // Stale: rename it away. Of two processes taking over at once, one renames, the other retries.
      try {
        fs.renameSync(file, `${file}.stale-${process.pid}`);
        fs.rmSync(`${file}.stale-${process.pid}`, { force: true });
      } catch {
        /* someone else took it over first; the next attempt sees their lock */
      }
    }
    throw new RunLockError(`${file}: could not take the run lock (it keeps changing hands)`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
