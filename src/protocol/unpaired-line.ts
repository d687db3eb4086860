// TRL's unpaired preference format, one line of it: {"prompt", "completion", "label": true|false},
// the data of KTO (mode "kto"), with the prompt as text or chat messages as for pairs. Also the two
// conversions between the formats, as TRL and `dpo convert` make them. Pure: file reading is the
// engine's (src/engine/data/unpaired.ts).
import { DataProblem, PreferencePair, Text, isMessageList, sameText, textProblem } from './preference-line';

export interface UnpairedLine {
  /** 1-based line number in the source file. */
  line: number;
  prompt: Text;
  completion: Text;
  /** true: desirable (thumbs up); false: undesirable. */
  label: boolean;
  conversational: boolean;
}

/** A line in the unpaired format: a "completion" and no "chosen"/"rejected" (its "label" is checked by parseUnpairedLine). */
export function isUnpairedValue(o: unknown): boolean {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && 'completion' in o && !('chosen' in o) && !('rejected' in o);
}

/** Validates one parsed unpaired line; pushes problems (file, line, field) and returns it when usable. */
export function parseUnpairedLine(value: unknown, file: string, line: number, problems: DataProblem[]): UnpairedLine | undefined {
  const problem = (message: string, field?: string) => problems.push({ file, line, field, message });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problem('not a JSON object; expected {"prompt": …, "completion": …, "label": true|false}');
    return undefined;
  }
  const o = value as Record<string, unknown>;
  const before = problems.length;
  for (const f of ['prompt', 'completion'] as const) {
    const p = textProblem(o[f], f === 'completion', 'empty completion');
    if (p) problem(p, f);
  }
  if (typeof o.label !== 'boolean')
    problem(`must be true (desirable) or false (undesirable), got ${o.label === undefined ? 'nothing' : JSON.stringify(o.label)}`, 'label');
  if (problems.length > before) return undefined;
  if (isMessageList(o.prompt) !== isMessageList(o.completion)) {
    problem('"prompt" and "completion" must both be text or both be message lists', 'completion');
    return undefined;
  }
  return { line, prompt: o.prompt as Text, completion: o.completion as Text, label: o.label as boolean, conversational: isMessageList(o.prompt) };
}

/** TRL's unpair_preference_dataset maps the pairs in batches of this many (datasets' map default). */
export const UNPAIR_BLOCK = 1000;

/**
 * Each pair -> a desirable line (chosen) and an undesirable one (rejected), in TRL's order: per block
 * of UNPAIR_BLOCK pairs, the block's chosen lines, then its rejected ones. KTO reads lines in order
 * (TRL's sequential sampling), and this order makes a batch's KL pairs mismatch prompts.
 */
export function unpairPairs(pairs: PreferencePair[]): UnpairedLine[] {
  const out: UnpairedLine[] = [];
  for (let start = 0; start < pairs.length; start += UNPAIR_BLOCK) {
    const block = pairs.slice(start, start + UNPAIR_BLOCK);
    for (const label of [true, false])
      for (const p of block) out.push({ line: p.line, prompt: p.prompt, completion: label ? p.chosen : p.rejected, label, conversational: p.conversational });
  }
  return out;
}

export interface PairedUp {
  pairs: { prompt: Text; chosen: Text; rejected: Text }[];
  /** Lines left without a partner: a prompt's surplus desirable or undesirable lines, or a prompt with one kind only. */
  unmatched: number[];
}

/**
 * The unpaired lines paired up per prompt: a prompt's k-th desirable completion with its k-th
 * undesirable one, in file order; what cannot be matched is listed (dropped from the output).
 */
export function pairUp(lines: UnpairedLine[]): PairedUp {
  const byPrompt = new Map<string, { good: UnpairedLine[]; bad: UnpairedLine[] }>();
  for (const l of lines) {
    const key = JSON.stringify(l.prompt);
    const entry = byPrompt.get(key) ?? { good: [], bad: [] };
    (l.label ? entry.good : entry.bad).push(l);
    byPrompt.set(key, entry);
  }
  const pairs: PairedUp['pairs'] = [];
  const unmatched: number[] = [];
  for (const { good, bad } of byPrompt.values()) {
    const n = Math.min(good.length, bad.length);
    for (let i = 0; i < n; i++) {
      // A pair whose two completions are the same carries no preference (the trainer would refuse it).
      if (sameText(good[i].completion, bad[i].completion)) unmatched.push(good[i].line, bad[i].line);
      else pairs.push({ prompt: good[i].prompt, chosen: good[i].completion, rejected: bad[i].completion });
    }
    unmatched.push(...good.slice(n).map((l) => l.line), ...bad.slice(n).map((l) => l.line));
  }
  unmatched.sort((a, b) => a - b);
  return { pairs, unmatched };
}
