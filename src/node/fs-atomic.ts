// Whole-file writes that a crash cannot leave half done (temp file, then rename), and appends that
// are on disk when they return. Plain Node, shared by the engine, the CLI and the extension host.
import * as fs from 'node:fs';

export function writeFileAtomic(file: string, content: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** Appends lines and flushes them to disk: a crash loses at most the line being written. */
export function appendLinesSync(file: string, lines: string[]): void {
  if (lines.length === 0) return;
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, lines.join('\n') + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
