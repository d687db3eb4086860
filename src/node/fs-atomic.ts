// Whole-file writes that a crash cannot leave half done (temp file, then rename), and appends that
// are on disk when they return. Plain Node, shared by the engine, the CLI and the extension host.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function writeFileAtomic(file: string, content: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** The prefix of folders being deleted (see removeDirAtomic); readers of a folder skip such names. */
export const DELETING_PREFIX = '.deleting-';

/**
 * Removes a folder so that a kill at any moment leaves it either whole or gone: it is first renamed
 * to `.deleting-<name>-<pid>` in the same parent (one rename), then deleted. A recursive delete
 * alone, killed part way, can leave a checkpoint that still holds its completion marker but lacks
 * its weights or optimizer state. Leftovers of killed deletes are removed by removeDeleting.
 */
export function removeDirAtomic(dir: string): void {
  const doomed = path.join(path.dirname(dir), `${DELETING_PREFIX}${path.basename(dir)}-${process.pid}`);
  try {
    fs.renameSync(dir, doomed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  fs.rmSync(doomed, { recursive: true, force: true });
}

/** Deletes what killed removeDirAtomic calls left in `parent` (their names say they were being deleted). */
export function removeDeleting(parent: string): void {
  if (!fs.existsSync(parent)) return;
  for (const name of fs.readdirSync(parent)) {
    if (name.startsWith(DELETING_PREFIX)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
}

/** Appends lines and flushes them to disk: a crash loses at most the line being written. */
export function appendLinesSync(file: string, lines: string[]): void {
  if (lines.length === 0) return;
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, lines.join('\n') + '\n');
    fs.fsyncSync(fd);
  } catch (err) {
    throw namedFileError(err, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** A write's errno error says no file ("ENOSPC: no space left on device, write"): name it, and what to do. */
function namedFileError(err: unknown, file: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code === undefined || e.path !== undefined) return err;
  const hint = e.code === 'ENOSPC' ? ' (the disk is full: free space, then resume the run)' : '';
  return Object.assign(new Error(`${file}: ${e.message}${hint}`, { cause: err }), { code: e.code, path: file });
}
