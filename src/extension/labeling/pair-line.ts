// One line of a preference JSONL file as the labeling editor sees it, and the edits a decision or a
// response edit makes to it. Lines to label hold {"prompt", "responses": [a, b]}; lines that already
// hold "chosen"/"rejected" are shown for review (a = chosen). A decision writes "chosen"/"rejected"
// (a or b) or removes them (tie, skip), keeps "responses" so the choice can be reviewed or flipped,
// and records "label", "annotator" and "labeled_at". Only those members change; the rest of the
// line keeps its exact text (json-members.ts). Unpaired lines ({"prompt", "completion", "label"},
// TRL's format for KTO) take thumbs up or down instead: "a" writes label true, "b" label false.
import { DataProblem, LabelLineKind, PreferenceFormat, Text, detectFormat, isMessageList, parsePreferenceLine, sameText, textProblem } from '../../protocol';
import { deleteMember, setMember } from './json-members';

export const DECISIONS = ['a', 'b', 'tie', 'skip'] as const;
export type Decision = (typeof DECISIONS)[number];

/** blank | bad (cannot be used for training) | todo (unlabeled) | a | b | tie | skip */
/** The protocol's line kinds (the labeling webview shows them). */
export type LineKind = LabelLineKind;

export interface LineProblem {
  field?: string;
  message: string;
}

export interface InspectedLine {
  kind: LineKind;
  problems: LineProblem[];
  prompt?: Text;
  /** [a, b] in file order: "responses", or [chosen, rejected] on a review line. */
  responses?: [Text, Text];
  /** True when the line has no "responses" and shows chosen/rejected. */
  review?: boolean;
  /** A review line no one labeled here (no "label"): the file came with it labeled. */
  given?: boolean;
  /** A review line's format: chat-completions and HH lines are flipped in their own fields. */
  format?: PreferenceFormat;
  annotator?: string;
  labeledAt?: string;
  /** An unpaired line: one completion, labeled desirable ("a", label true) or not ("b", label false). */
  unpaired?: boolean;
  completion?: Text;
}

/** An unpaired line ({"prompt", "completion", "label": true/false}): its kind and problems. */
function inspectUnpaired(o: Record<string, unknown>, meta: { annotator?: string; labeledAt?: string }): InspectedLine {
  const problems: LineProblem[] = [];
  const promptProblem = textProblem(o.prompt, false);
  if (promptProblem) problems.push({ field: 'prompt', message: promptProblem });
  const completionProblem = textProblem(o.completion, true, 'empty completion');
  if (completionProblem) problems.push({ field: 'completion', message: completionProblem });
  if (o.label !== undefined && typeof o.label !== 'boolean')
    problems.push({ field: 'label', message: 'must be true (desirable, thumbs up) or false (undesirable, thumbs down); absent: not labeled yet' });
  if (problems.length === 0 && isMessageList(o.completion) !== isMessageList(o.prompt))
    problems.push({ field: 'completion', message: 'use one format per line: all text, or all message lists' });
  if (problems.length > 0) return { kind: 'bad', problems, unpaired: true };
  const kind = o.label === true ? 'a' : o.label === false ? 'b' : 'todo';
  return { kind, problems, prompt: o.prompt as Text, completion: o.completion as Text, unpaired: true, ...meta };
}

function parseObject(text: string): { value?: Record<string, unknown>; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { problem: `not valid JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'not a JSON object; expected {"prompt": …, "responses": [a, b]}' };
  return { value: value as Record<string, unknown> };
}

/** What a line is, and every reason it cannot be used for training. */
export function inspectLine(text: string): InspectedLine {
  if (text.trim() === '') return { kind: 'blank', problems: [] };
  const parsed = parseObject(text);
  if (!parsed.value) return { kind: 'bad', problems: [{ message: parsed.problem! }] };
  const o = parsed.value;
  const problems: LineProblem[] = [];
  const meta = {
    annotator: typeof o.annotator === 'string' ? o.annotator : undefined,
    labeledAt: typeof o.labeled_at === 'string' ? o.labeled_at : undefined,
  };
  if ('completion' in o && !('responses' in o) && !('chosen' in o) && !('rejected' in o)) return inspectUnpaired(o, meta);
  const label = o.label;
  if (label !== undefined && !(DECISIONS as readonly unknown[]).includes(label))
    problems.push({ field: 'label', message: `must be one of ${DECISIONS.map((d) => `"${d}"`).join(', ')}` });

  if (!('responses' in o)) {
    // A review line: the trainer's own checks decide whether it is usable.
    const found: DataProblem[] = [];
    const pair = parsePreferenceLine(o, '', 0, found);
    problems.push(...found.map((p) => ({ field: p.field, message: p.message })));
    if (problems.length > 0 || !pair) return { kind: 'bad', problems };
    return {
      kind: 'a',
      problems,
      prompt: pair.prompt,
      responses: [pair.chosen, pair.rejected],
      review: true,
      given: label === undefined,
      format: detectFormat(o),
      ...meta,
    };
  }

  const r = o.responses;
  const promptProblem = textProblem(o.prompt, false);
  if (promptProblem) problems.push({ field: 'prompt', message: promptProblem });
  if (!Array.isArray(r) || r.length !== 2) problems.push({ field: 'responses', message: 'must be a list of exactly two responses' });
  else {
    r.forEach((x, i) => {
      const p = textProblem(x, true);
      if (p) problems.push({ field: `responses[${i}]`, message: p });
    });
    if (problems.length === 0 && sameText(r[0], r[1]))
      problems.push({ field: 'responses', message: 'the two responses are identical: the pair carries no preference' });
    if (problems.length === 0 && r.some((x) => isMessageList(x) !== isMessageList(o.prompt))) {
      problems.push({ field: 'responses', message: 'use one format per line: all text, or all message lists' });
    }
  }
  if (problems.length > 0) return { kind: 'bad', problems };
  const responses = r as [Text, Text];
  const base = { problems, prompt: o.prompt as Text, responses, ...meta };
  const hasChoice = 'chosen' in o || 'rejected' in o;
  if (label === 'tie' || label === 'skip') {
    if (hasChoice) return { ...base, kind: 'bad', problems: [{ field: 'label', message: `"${label}" but "chosen"/"rejected" are set; label the pair again` }] };
    return { ...base, kind: label };
  }
  if (!hasChoice) {
    if (label === 'a' || label === 'b')
      return { ...base, kind: 'bad', problems: [{ field: 'label', message: `"${label}" but "chosen"/"rejected" are missing; label the pair again` }] };
    return { ...base, kind: 'todo' };
  }
  const matches = (d: 'a' | 'b') => sameText(o.chosen, responses[d === 'a' ? 0 : 1]) && sameText(o.rejected, responses[d === 'a' ? 1 : 0]);
  const decided = label === 'a' || label === 'b' ? label : matches('a') ? 'a' : matches('b') ? 'b' : undefined;
  if (!decided || !matches(decided)) {
    return {
      ...base,
      kind: 'bad',
      problems: [{ field: 'chosen', message: '"chosen"/"rejected" are not the two "responses" in the order the label says; label the pair again' }],
    };
  }
  return { ...base, kind: decided };
}

export interface LabelMeta {
  annotator: string;
  /** ISO 8601 time of the decision. */
  time: string;
}

/** The line with a decision applied. Throws if the line is not a pair that can be labeled. */
export function applyDecision(text: string, decision: Decision, meta: LabelMeta): string {
  const line = inspectLine(text);
  if (line.unpaired) {
    if (!line.completion) throw new Error(`cannot label this line: ${line.problems.map((p) => p.message).join('; ')}`);
    if (decision !== 'a' && decision !== 'b') throw new Error('an unpaired line takes thumbs up (a) or down (b), not tie or skip');
    return setMember(setMember(setMember(text, 'label', decision === 'a'), 'annotator', meta.annotator), 'labeled_at', meta.time);
  }
  if (!line.responses) throw new Error(`cannot label this line: ${line.problems.map((p) => p.message).join('; ') || 'it is blank'}`);
  if (line.review && line.format && line.format !== 'trl') return decideInPlace(text, line.format, decision, meta);
  let out = text;
  if (line.review) out = setMember(out, 'responses', line.responses); // keep the original order before "chosen" changes
  if (decision === 'a' || decision === 'b') {
    const [chosen, rejected] = decision === 'a' ? line.responses : [line.responses[1], line.responses[0]];
    out = setMember(setMember(out, 'chosen', chosen), 'rejected', rejected);
  } else {
    out = deleteMember(deleteMember(out, 'chosen'), 'rejected');
  }
  out = setMember(out, 'label', decision);
  out = setMember(out, 'annotator', meta.annotator);
  return setMember(out, 'labeled_at', meta.time);
}

/**
 * A decision on a chat-completions or HH review line: "b" swaps the line's own chosen/rejected
 * fields (so the line keeps its format), "a" confirms; tie and skip only record the label.
 */
function decideInPlace(text: string, format: Exclude<PreferenceFormat, 'trl'>, decision: Decision, meta: LabelMeta): string {
  const o = JSON.parse(text) as Record<string, unknown>;
  const [first, second] = format === 'chat-completions' ? ['preferred_output', 'non_preferred_output'] : ['chosen', 'rejected'];
  let out = decision === 'b' ? setMember(setMember(text, first, o[second]), second, o[first]) : text;
  out = setMember(out, 'label', decision);
  out = setMember(out, 'annotator', meta.annotator);
  return setMember(out, 'labeled_at', meta.time);
}

/**
 * The line with response `index` (0 = a) replaced by `value`: a string, or for a message list the
 * content of its last message. A chosen/rejected already derived from it follows the edit.
 */
export function editResponse(text: string, index: 0 | 1, value: string): string {
  const line = inspectLine(text);
  if (line.unpaired && line.completion !== undefined) {
    const old = line.completion;
    return setMember(text, 'completion', typeof old === 'string' ? value : old.map((m, i) => (i === old.length - 1 ? { ...m, content: value } : m)));
  }
  if (!line.responses) throw new Error(`cannot edit this line: ${line.problems.map((p) => p.message).join('; ') || 'it is blank'}`);
  if (line.format && line.format !== 'trl') throw new Error(`this line is in the ${line.format} format: edit its responses in the text editor`);
  const old = line.responses[index];
  const next: Text = typeof old === 'string' ? value : old.map((m, i) => (i === old.length - 1 ? { ...m, content: value } : m));
  if (line.review) return setMember(text, index === 0 ? 'chosen' : 'rejected', next);
  const responses = [...line.responses] as [Text, Text];
  responses[index] = next;
  let out = setMember(text, 'responses', responses);
  if (line.kind === 'a' || line.kind === 'b') {
    const [chosen, rejected] = line.kind === 'a' ? responses : [responses[1], responses[0]];
    out = setMember(setMember(out, 'chosen', chosen), 'rejected', rejected);
  }
  return out;
}

/** Whether blind mode shows this line's responses swapped: reproducible from seed and line. */
export function blindSwap(seed: number, line: number): boolean {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(line + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) & 1) === 1;
}
