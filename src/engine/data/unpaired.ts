// Reads the data of a KTO run: TRL's unpaired lines ({"prompt", "completion", "label"}) as they are,
// or a paired file unpaired as TRL's KTOTrainer unpairs it (each pair -> a desirable and an
// undesirable line). Every unusable line is reported with its file, line and field, as for pairs.
import * as fs from 'node:fs';
import { decodeUtf8Lines } from './utf8-lines';
import { DataError, LoadOptions, forEachJsonLine } from './preferences';
import { DataProblem, PreferencePair, UnpairedLine, badLineCount, isUnpairedValue, parsePreferenceLine, parseUnpairedLine, unpairPairs } from '../../protocol';

export interface UnpairedReadResult {
  lines: UnpairedLine[];
  problems: DataProblem[];
  /** Lines labeled "tie" or "skip" (a labeler's withdrawn preference), left out. */
  excluded: number[];
  /** True when the file held pairs (each became two lines). */
  unpaired: boolean;
}

/** Parses JSONL text of unpaired lines or of pairs (not both in one file). */
export function parseUnpaired(text: string, file: string): UnpairedReadResult {
  const lines: UnpairedLine[] = [];
  const pairs: PreferencePair[] = [];
  const problems: DataProblem[] = [];
  const excluded: number[] = [];
  forEachJsonLine(text, file, { problems, excluded }, (value, line) => {
    if (isUnpairedValue(value)) {
      const l = parseUnpairedLine(value, file, line, problems);
      if (l) lines.push(l);
    } else {
      const p = parsePreferenceLine(value, file, line, problems);
      if (p) pairs.push(p);
    }
  });
  if (lines.length > 0 && pairs.length > 0) {
    // TRL unpairs a dataset by its first row's columns; a mixed file is a mistake, not a format.
    const minority = lines.length < pairs.length ? lines : pairs;
    throw new DataError(
      [],
      `${file}: mixes unpaired lines ({"prompt","completion","label"}) and pairs ({"prompt","chosen","rejected"}), e.g. line ${minority[0].line}; use one format per file (\`dpo convert --to unpaired\` turns pairs into unpaired lines)`,
    );
  }
  return pairs.length > 0 ? { lines: unpairPairs(pairs), problems, excluded, unpaired: true } : { lines, problems, excluded, unpaired: false };
}

/** Reads a KTO data file; throws DataError listing every problem unless skipBadLines. */
export function readUnpairedFile(file: string, options: LoadOptions = {}): UnpairedReadResult {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new DataError([], `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const decoded = decodeUtf8Lines(bytes, file);
  const result = parseUnpaired(decoded.text, file);
  result.problems.unshift(...decoded.problems);
  result.problems.sort((a, b) => a.line - b.line);
  if (result.problems.length > 0 && !options.skipBadLines) {
    throw new DataError(
      result.problems,
      `${file}: ${badLineCount(result.problems)} line(s) cannot be used for training (fix them, or pass --skip-bad-lines to skip them):`,
    );
  }
  if (result.lines.length === 0) throw new DataError(result.problems, `${file}: no usable lines ({"prompt","completion","label"} or pairs)`);
  return result;
}
