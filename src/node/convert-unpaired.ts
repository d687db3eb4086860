// Paired <-> unpaired preference lines, as TRL names the formats: a pair {prompt, chosen, rejected}
// becomes one desirable and one undesirable line {prompt, completion, label}; unpaired lines become
// pairs by matching a desirable and an undesirable completion of the same prompt, in file order.
// Pure functions on parsed lines (the labeling editor's command and `dpo convert` call them), and
// convertFile for a whole file. Lines of other shapes are returned as problems, never dropped.
import * as fs from 'node:fs';
import { Text, sameText } from '../protocol';
import { writeFileAtomic } from './fs-atomic';

export interface UnpairedLine {
  prompt: Text;
  completion: Text;
  label: boolean;
}

export interface ConvertProblem {
  /** 1-based line of the input. */
  line: number;
  message: string;
}

export interface Converted {
  lines: Record<string, unknown>[];
  problems: ConvertProblem[];
  /** Unpaired lines left without a partner of the other label (their prompt had more of one kind). */
  unmatched: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is Text => typeof v === 'string' || Array.isArray(v);

/** Whether a parsed line is in the unpaired format (a completion with a boolean label, or one to label). */
export function isUnpairedLine(o: unknown): boolean {
  return isObj(o) && 'completion' in o && !('chosen' in o) && !('rejected' in o) && !('responses' in o);
}

/** Each pair -> its chosen response as desirable, its rejected one as undesirable (other members dropped). */
export function pairedToUnpaired(rows: unknown[]): Converted {
  const lines: Record<string, unknown>[] = [];
  const problems: ConvertProblem[] = [];
  rows.forEach((o, i) => {
    if (isObj(o) && isText(o.prompt) && isText(o.chosen) && isText(o.rejected)) {
      lines.push({ prompt: o.prompt, completion: o.chosen, label: true }, { prompt: o.prompt, completion: o.rejected, label: false });
    } else problems.push({ line: i + 1, message: 'not a labeled pair: expected "prompt", "chosen" and "rejected"' });
  });
  return { lines, problems, unmatched: 0 };
}

/**
 * Unpaired lines -> pairs: per prompt, the k-th desirable completion with the k-th undesirable one,
 * in file order (pairs come out in the order of their desirable line). Lines without a boolean
 * label are problems; completions left over are counted in `unmatched`.
 */
export function unpairedToPaired(rows: unknown[]): Converted {
  const problems: ConvertProblem[] = [];
  const groups: { prompt: Text; good: { at: number; c: Text }[]; bad: Text[] }[] = [];
  rows.forEach((o, i) => {
    if (!isObj(o) || !isText(o.prompt) || !isText(o.completion) || typeof o.label !== 'boolean') {
      problems.push({ line: i + 1, message: 'not a labeled unpaired line: expected "prompt", "completion" and a true/false "label"' });
      return;
    }
    let g = groups.find((x) => sameText(x.prompt, o.prompt));
    if (!g) groups.push((g = { prompt: o.prompt, good: [], bad: [] }));
    if (o.label) g.good.push({ at: i, c: o.completion });
    else g.bad.push(o.completion);
  });
  const paired: { at: number; line: Record<string, unknown> }[] = [];
  let unmatched = 0;
  for (const g of groups) {
    const n = Math.min(g.good.length, g.bad.length);
    for (let k = 0; k < n; k++) paired.push({ at: g.good[k].at, line: { prompt: g.prompt, chosen: g.good[k].c, rejected: g.bad[k] } });
    unmatched += g.good.length + g.bad.length - 2 * n;
  }
  return { lines: paired.sort((a, b) => a.at - b.at).map((p) => p.line), problems, unmatched };
}

export type ConvertDirection = 'to-unpaired' | 'to-paired';

/** The direction a file asks for: to paired when most of its JSON lines are unpaired, else to unpaired. */
export function directionOf(rows: unknown[]): ConvertDirection {
  const unpaired = rows.filter(isUnpairedLine).length;
  return unpaired * 2 > rows.length ? 'to-paired' : 'to-unpaired';
}

export interface ConvertedFile extends Converted {
  direction: ConvertDirection;
  out: string;
}

/**
 * Converts a JSONL file into `<name>.unpaired.jsonl` or `<name>.paired.jsonl` beside it (or `out`),
 * written whole or not at all. Lines that are not JSON are problems with their line number.
 */
export function convertFile(file: string, direction?: ConvertDirection, out?: string): ConvertedFile {
  const rows: unknown[] = [];
  const bad: ConvertProblem[] = [];
  const lineOf: number[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return;
      try {
        rows.push(JSON.parse(text));
        lineOf.push(i + 1);
      } catch (err) {
        bad.push({ line: i + 1, message: `not valid JSON (${(err as Error).message})` });
      }
    });
  const dir = direction ?? directionOf(rows);
  const converted = dir === 'to-unpaired' ? pairedToUnpaired(rows) : unpairedToPaired(rows);
  // Problems name the file's lines, not the positions among its JSON lines.
  const problems = [...bad, ...converted.problems.map((p) => ({ ...p, line: lineOf[p.line - 1] }))].sort((a, b) => a.line - b.line);
  const target = out ?? file.replace(/(\.(un)?paired)?\.jsonl$/i, '') + (dir === 'to-unpaired' ? '.unpaired.jsonl' : '.paired.jsonl');
  writeFileAtomic(target, converted.lines.map((l) => JSON.stringify(l) + '\n').join(''));
  return { ...converted, problems, direction: dir, out: target };
}
