// results.jsonl and eval.json of an evaluation folder: answers appended and fsync'd as they are made
// (a kill loses at most the pair being written), read back for a resumed run, and the options a
// folder was made with, so a re-run with other options cannot mix two evaluations in one file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVAL_FILES, EvalModel, EvalResultLine, parseEvalResultLine, parseLines } from '../../protocol';
import { appendLinesSync, writeFileAtomic } from '../fs-atomic';

export const answerKey = (promptIndex: number, model: EvalModel, sample: number) => `${promptIndex}:${model}:${sample}`;

/**
 * The answers already in `out`/results.jsonl by answerKey. A kill can tear the last write (one pair of
 * lines): what it left is dropped and the file rewritten without it, so appends continue whole lines
 * and every prompt and sample has both its answers or neither.
 */
export function readResults(out: string): Map<string, EvalResultLine> {
  const file = path.join(out, EVAL_FILES.results);
  const found = new Map<string, EvalResultLine>();
  if (!fs.existsSync(file)) return found;
  const text = fs.readFileSync(file, 'utf8');
  const parsed = parseLines(text, parseEvalResultLine, true);
  if (parsed.problems.length)
    throw new Error(`${file}:${parsed.problems[0].line}: ${parsed.problems[0].error}; remove the file (or choose another --out) to start afresh`);
  for (const l of parsed.records) found.set(answerKey(l.prompt_index, l.model, l.sample), l);
  const whole = parsed.records.filter((l) => found.has(answerKey(l.prompt_index, l.model === 'policy' ? 'reference' : 'policy', l.sample)));
  if (whole.length !== parsed.records.length || (text !== '' && !text.endsWith('\n'))) {
    const kept = new Set(whole);
    for (const l of parsed.records) if (!kept.has(l)) found.delete(answerKey(l.prompt_index, l.model, l.sample));
    writeFileAtomic(file, whole.map((l) => JSON.stringify(l) + '\n').join(''));
  }
  return found;
}

export function appendResults(out: string, lines: EvalResultLine[]): void {
  appendLinesSync(
    path.join(out, EVAL_FILES.results),
    lines.map((l) => JSON.stringify(l)),
  );
}

/**
 * Records `options` in eval.json; when the folder already holds an evaluation made with other
 * options (those that change answers or verdicts), throws naming the first that differs.
 */
export function claimEvalFolder(out: string, options: Record<string, unknown>, mustMatch: string[]): void {
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, EVAL_FILES.options);
  if (fs.existsSync(path.join(out, EVAL_FILES.results)) && fs.existsSync(file)) {
    let before: Record<string, unknown>;
    try {
      before = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${file}: unreadable (${(err as Error).message}); choose another --out`, { cause: err });
    }
    for (const k of mustMatch) {
      if (JSON.stringify(before[k] ?? null) !== JSON.stringify(options[k] ?? null))
        throw new Error(
          `${out} holds an evaluation made with ${k} = ${JSON.stringify(before[k] ?? null)}, not ${JSON.stringify(options[k] ?? null)}: choose another --out, or delete the folder to start afresh`,
        );
    }
  }
  writeFileAtomic(file, JSON.stringify(options, null, 2) + '\n');
}
