// Which way "DPO: Convert Paired ↔ Unpaired" converts a file, and where the result goes. The
// conversion itself is `dpo convert --to unpaired|paired` (src/cli/convert.ts, TRL's order), which
// the command runs: one conversion for the palette and the CLI.
import * as fs from 'node:fs';
import { isUnpairedValue } from '../protocol';

export type ConvertDirection = 'to-unpaired' | 'to-paired';

/** The direction a file asks for: to paired when most of its JSON lines are unpaired, else to unpaired. */
export function directionOfFile(file: string): ConvertDirection {
  let json = 0;
  let unpaired = 0;
  for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(text);
      json++;
      if (isUnpairedValue(value)) unpaired++;
    } catch {
      // Not JSON: the conversion names this line; it does not vote.
    }
  }
  return unpaired * 2 > json ? 'to-paired' : 'to-unpaired';
}

/** `<name>.unpaired.jsonl` or `<name>.paired.jsonl` beside the file (a previous suffix replaced). */
export function convertedPath(file: string, direction: ConvertDirection): string {
  return file.replace(/(\.(un)?paired)?\.jsonl$/i, '') + (direction === 'to-unpaired' ? '.unpaired.jsonl' : '.paired.jsonl');
}
