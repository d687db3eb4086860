// A preference file too large for a TextDocument (VS Code gives extensions documents of at most
// 50 MB): the file stays on disk and is read a line at a time through a byte-offset index; edited
// lines live in memory until saved. Saving streams unchanged bytes and edited lines to a temporary
// file beside the original, flushes it, and renames it over the original, so the file on disk is
// always either the last saved version or the new one, never a mix. Lines are never added or
// removed (the labeling editor only rewrites a line), so line numbers are stable. A save killed
// before its rename leaves its temporary file; the next open removes it once its process is gone.
import * as fs from 'node:fs';
import * as path from 'node:path';

const CHUNK = 16 * 1024 * 1024;

export interface LineOffsets {
  /** starts[i]: byte offset of line i; starts[lineCount]: the file size (+1 when the last line has no newline). */
  starts: Float64Array;
  lineCount: number;
}

/** Byte offsets of every line start, scanning the file in 16 MB chunks. */
export function indexLines(fd: number, size: number): LineOffsets {
  let starts = new Float64Array(1024);
  let n = 0;
  const push = (v: number) => {
    if (n === starts.length) {
      const grown = new Float64Array(starts.length * 2);
      grown.set(starts);
      starts = grown;
    }
    starts[n++] = v;
  };
  push(0);
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; pos < size;) {
    const read = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos);
    if (read <= 0) break;
    for (let i = buf.indexOf(10, 0); i >= 0 && i < read; i = buf.indexOf(10, i + 1)) push(pos + i + 1);
    pos += read;
  }
  // A trailing newline ends the last line; otherwise the last line runs to the end of the file.
  const endsWithNewline = n > 1 && starts[n - 1] === size;
  if (!endsWithNewline) push(size + 1);
  return { starts: starts.subarray(0, n), lineCount: n - 1 };
}

/** The temporary file a save by process `pid` writes beside `target` before renaming it over. */
export function savingFile(target: string, pid: number): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.dpo-saving-${pid}`);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but is another user's; only ESRCH says that there is none.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary files of saves of `file` killed before their rename (their process is
 * gone); a save still running keeps its file. Returns the names removed.
 */
export function removeStaleSaves(file: string): string[] {
  const prefix = path.basename(savingFile(file, 0)).slice(0, -1);
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : 0;
    if (pid <= 0 || pid === process.pid || running(pid)) continue;
    try {
      fs.rmSync(path.join(path.dirname(file), name));
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: the data file is unaffected either way.
    }
  }
  return removed;
}

export class LargeLineFile {
  private fd: number;
  private offsets: LineOffsets;
  private size: number;
  /** Edited lines (0-based) and their text, until saved. */
  private readonly edits = new Map<number, string>();

  constructor(readonly file: string) {
    removeStaleSaves(file);
    this.fd = fs.openSync(file, 'r');
    this.size = fs.fstatSync(this.fd).size;
    this.offsets = indexLines(this.fd, this.size);
  }

  get lineCount(): number {
    return this.offsets.lineCount;
  }

  get dirty(): boolean {
    return this.edits.size > 0;
  }

  /** The original bytes of line i, without its line break (and without a '\r' before it). */
  private originalLine(i: number): string {
    const start = this.offsets.starts[i];
    let end = Math.min(this.offsets.starts[i + 1] - 1, this.size);
    const buf = Buffer.allocUnsafe(end - start);
    fs.readSync(this.fd, buf, 0, end - start, start);
    end = buf.length;
    if (end > 0 && buf[end - 1] === 13) end--;
    return buf.toString('utf8', 0, end);
  }

  lineAt(i: number): string {
    if (i < 0 || i >= this.lineCount) throw new RangeError(`line ${i + 1} is outside the file's ${this.lineCount} lines`);
    return this.edits.get(i) ?? this.originalLine(i);
  }

  /** Sets line i's text (no line breaks); setting it back to the original forgets the edit. */
  setLine(i: number, text: string): void {
    if (/[\r\n]/.test(text)) throw new Error('a line cannot contain a line break');
    if (text === this.originalLine(i)) this.edits.delete(i);
    else this.edits.set(i, text);
  }

  /** Edited lines, for a hot-exit backup. */
  editedLines(): [number, string][] {
    return [...this.edits];
  }

  /** Writes the file with its edits to `target` (atomically), then reads it as the new original. */
  save(target = this.file): void {
    const tmp = savingFile(target, process.pid);
    const out = fs.openSync(tmp, 'w');
    try {
      const lines = [...this.edits.keys()].sort((a, b) => a - b);
      let copied = 0; // bytes of the original already written
      const copy = (until: number) => {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(0, until - copied)));
        while (copied < until) {
          const n = fs.readSync(this.fd, buf, 0, Math.min(buf.length, until - copied), copied);
          if (n <= 0) throw new Error(`${this.file} changed on disk while saving`);
          fs.writeSync(out, buf, 0, n);
          copied += n;
        }
      };
      for (const i of lines) {
        const start = this.offsets.starts[i];
        const next = this.offsets.starts[i + 1];
        copy(start);
        // Keep the line's own ending ('\n', '\r\n', or none at the end of the file): its last two bytes say.
        const end = Math.min(next, this.size);
        const tail = Buffer.allocUnsafe(Math.min(2, end - start));
        fs.readSync(this.fd, tail, 0, tail.length, end - tail.length);
        const ending = tail.toString('latin1').match(/\r?\n$/)?.[0] ?? '';
        fs.writeSync(out, Buffer.from(this.edits.get(i)! + ending, 'utf8'));
        copied = end;
      }
      copy(this.size);
      fs.fsyncSync(out);
    } catch (err) {
      fs.closeSync(out);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.closeSync(out);
    fs.renameSync(tmp, target);
    if (target === this.file) {
      this.edits.clear();
      this.reopen();
    }
  }

  /** Drops the edits and reads the file again (revert, or after it changed on disk). */
  revert(): void {
    this.edits.clear();
    this.reopen();
  }

  private reopen(): void {
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'r');
    this.size = fs.fstatSync(this.fd).size;
    this.offsets = indexLines(this.fd, this.size);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
