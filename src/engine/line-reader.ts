// JSON lines from a stream with a bound on line length: readline would gather a 600 MB line into
// one string and die with "Invalid string length". A line over the bound is dropped as it arrives
// (nothing of it is kept beyond the bound) and reported once, when its newline comes.
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { MAX_LINE_BYTES } from '../protocol';

export { MAX_LINE_BYTES };

export interface LineHandlers {
  line(text: string): void;
  /** A line longer than the bound was dropped; `head` is its first 500 characters, `bytes` its length. */
  tooLong(head: string, bytes: number): void;
  close(): void;
}

export function readLines(input: Readable, h: LineHandlers, maxBytes = MAX_LINE_BYTES): void {
  let parts: Buffer[] = [];
  let size = 0;
  let dropping = false;
  let head = '';
  const finish = () => {
    if (dropping) h.tooLong(head, size);
    else if (size > 0) {
      const text = new StringDecoder('utf8').end(Buffer.concat(parts)).replace(/\r$/, '');
      h.line(text);
    }
    parts = [];
    size = 0;
    dropping = false;
    head = '';
  };
  input.on('data', (chunk: Buffer) => {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      size += piece.length;
      if (!dropping && size > maxBytes) {
        dropping = true;
        head = Buffer.concat([...parts, piece])
          .subarray(0, 500)
          .toString('utf8');
        parts = [];
      } else if (!dropping) parts.push(Buffer.from(piece));
      if (nl < 0) break;
      finish();
      start = nl + 1;
    }
  });
  input.on('end', () => {
    finish();
    h.close();
  });
  input.on('close', () => h.close());
}
