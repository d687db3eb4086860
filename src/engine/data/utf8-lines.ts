// Strict UTF-8 for data files: Node's 'utf8' decoding turns bad bytes into U+FFFD silently, so a
// pair would train on text nobody wrote. Bad lines become problems with their line number (and
// blank text, so --skip-bad-lines can skip them); the rest decodes as usual.
import type { DataProblem } from '../../protocol/preference-line';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeUtf8Lines(bytes: Uint8Array, file: string): { text: string; problems: DataProblem[] } {
  try {
    return { text: strict.decode(bytes), problems: [] };
  } catch {
    // Slow path, only for a file with bad bytes: find the lines that hold them.
  }
  const problems: DataProblem[] = [];
  const lines: string[] = [];
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const slice = bytes.subarray(start, end);
    try {
      lines.push(strict.decode(slice));
    } catch {
      const at = firstBadByte(slice);
      problems.push({
        file,
        line,
        message: `not valid UTF-8 (byte ${at + 1} of the line, 0x${slice[at].toString(16).padStart(2, '0')}); save the file as UTF-8`,
      });
      lines.push('');
    }
    start = end + 1;
  }
  return { text: lines.join('\n'), problems };
}

function firstBadByte(slice: Uint8Array): number {
  for (let i = 1; i <= slice.length; i++) {
    try {
      strict.decode(slice.subarray(0, i));
    } catch {
      // A prefix cut inside a valid multi-byte character fails too: confirm with a longer prefix.
      if (i === slice.length || !validWithin(slice, i)) return i - 1;
    }
  }
  return 0;
}

function validWithin(slice: Uint8Array, i: number): boolean {
  for (let j = i + 1; j <= Math.min(slice.length, i + 3); j++) {
    try {
      strict.decode(slice.subarray(0, j));
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}
