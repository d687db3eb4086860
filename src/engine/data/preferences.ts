// Reads preference JSONL in the formats TRL users have and reports every unusable line with its
// file, line number and field. Nothing is skipped silently: the caller decides, from the list,
// whether to stop (the default) or skip bad lines and report how many.
import * as fs from 'node:fs';
import { decodeUtf8Lines } from './utf8-lines';
import { DataProblem, FormatOptions, PreferencePair, badLineCount, formatProblem, isExcludedLine, parsePreferenceLine } from '../../protocol/preference-line';

export * from '../../protocol/preference-line';

export class DataError extends Error {
  constructor(
    readonly problems: DataProblem[],
    summary: string,
  ) {
    const shown = problems
      .slice(0, 50)
      .map((p) => '\n  ' + formatProblem(p))
      .join('');
    super(summary + shown + (problems.length > 50 ? `\n  … and ${problems.length - 50} more` : ''));
  }
}

export interface ReadResult {
  pairs: PreferencePair[];
  problems: DataProblem[];
  /** Lines a labeler marked "tie" or "skip": deliberately no preference, so left out, not errors. */
  excluded: number[];
}

/**
 * The lines of a data file as JSON values, for a reader to parse: blank lines are skipped, a line that
 * is not JSON or cannot be read is a problem, and a "tie"/"skip" line is excluded (its 1-based number).
 */
export function forEachJsonLine(
  text: string,
  file: string,
  out: { problems: DataProblem[]; excluded: number[] },
  take: (value: unknown, line: number) => void,
): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.problems.push({ file, line: i + 1, message: `not valid JSON (${(err as Error).message})` });
      continue;
    }
    if (isExcludedLine(value)) {
      out.excluded.push(i + 1);
      continue;
    }
    try {
      take(value, i + 1);
    } catch (err) {
      // e.g. a 100,000-deep JSON value overflows the stack in a recursive check: a bad line, not a crash.
      out.problems.push({ file, line: i + 1, message: `cannot be read (${(err as Error).message}); is a value nested too deeply?` });
    }
  }
}

/** Parses JSONL text. Blank lines are allowed (and ignored); every other line must be a pair. */
export function parsePreferences(text: string, file: string, options: FormatOptions = {}): ReadResult {
  const out: ReadResult = { pairs: [], problems: [], excluded: [] };
  forEachJsonLine(text, file, out, (value, line) => {
    const pair = parsePreferenceLine(value, file, line, out.problems, options);
    if (pair) out.pairs.push(pair);
  });
  return out;
}

export interface LoadOptions extends FormatOptions {
  /** Skip unusable lines (and report their count) instead of stopping with the full list. */
  skipBadLines?: boolean;
}

/** Reads a preference file; throws DataError listing every problem unless skipBadLines. */
export function readPreferenceFile(file: string, options: LoadOptions = {}): ReadResult {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new DataError([], `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const decoded = decodeUtf8Lines(bytes, file);
  const result = parsePreferences(decoded.text, file, options);
  result.problems.unshift(...decoded.problems);
  result.problems.sort((a, b) => a.line - b.line);
  if (result.problems.length > 0 && !options.skipBadLines) {
    throw new DataError(
      result.problems,
      `${file}: ${badLineCount(result.problems)} line(s) cannot be used for training (fix them, or pass --skip-bad-lines to skip them):`,
    );
  }
  if (result.pairs.length === 0) {
    throw new DataError(result.problems, `${file}: no usable preference pairs`);
  }
  return result;
}
