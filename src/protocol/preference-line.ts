// One line of preference JSONL, as the trainer reads it and the labeling editor shows it: the
// formats TRL users have (standard, conversational, implicit prompt; prompt-completion for SFT), and
// every reason a line cannot be used, with its field. Pure: the engine adds file reading, the
// extension uses it to report Problems. The chat-completions and HH formats are read through
// preference-formats.ts.
import { extractPrompt } from './implicit-prompt';
import { toTrlFields } from './preference-formats';

export interface ChatMessage {
  role: string;
  content: string;
}

/** A prompt or response: plain text, or chat messages rendered with the chat template. */
export type Text = string | ChatMessage[];

export interface PreferencePair {
  /** 1-based line number in the source file. */
  line: number;
  prompt: Text;
  chosen: Text;
  rejected: Text;
  /** True when the three fields are message lists. */
  conversational: boolean;
}

export interface DataProblem {
  file: string;
  line: number;
  field?: string;
  message: string;
}

export function formatProblem(p: DataProblem): string {
  return `${p.file}:${p.line}: ${p.field ? `field '${p.field}': ` : ''}${p.message}`;
}

/** Lines with at least one problem (a line can have several). */
export function badLineCount(problems: DataProblem[]): number {
  return new Set(problems.map((p) => p.line)).size;
}

export function isMessageList(v: unknown): v is ChatMessage[] {
  return Array.isArray(v);
}

/** Checks a message list; returns a problem message or undefined. */
function messageListProblem(v: unknown[]): string | undefined {
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as { role?: unknown; content?: unknown };
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `message ${i} is not an object with "role" and "content"`;
    if (typeof m.role !== 'string' || m.role === '') return `message ${i} has no string "role"`;
    if (typeof m.content !== 'string') return `message ${i} has no string "content"`;
  }
  return undefined;
}

function isEmptyText(t: Text): boolean {
  return typeof t === 'string' ? t.trim() === '' : t.length === 0 || t.every((m) => m.content.trim() === '');
}

export function sameText(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Why a prompt or response value cannot be used (missing, not text or messages, a bad message, or
 * for a response, empty), or undefined when it can.
 */
export function textProblem(v: unknown, response: boolean, emptyMessage = 'empty response'): string | undefined {
  if (v === undefined) return 'missing';
  if (typeof v !== 'string' && !Array.isArray(v)) return `must be a string or a list of {"role", "content"} messages, got ${v === null ? 'null' : typeof v}`;
  if (Array.isArray(v)) {
    const m = messageListProblem(v);
    if (m) return m;
  }
  return response && isEmptyText(v as Text) ? emptyMessage : undefined;
}

/** Validates one parsed line; pushes problems and returns the pair when it is usable. */
export function parsePreferenceLine(
  value: unknown,
  file: string,
  line: number,
  problems: DataProblem[],
  options: FormatOptions = {},
): PreferencePair | undefined {
  const problem = (message: string, field?: string) => problems.push({ file, line, field, message });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problem('not a JSON object; expected {"prompt": …, "chosen": …, "rejected": …}');
    return undefined;
  }
  const o = toTrlFields(value as Record<string, unknown>, problem);
  if (!o) return undefined;
  if (!options.completions && 'completion' in o && typeof o.label === 'boolean') {
    // TRL's unpaired format (unpaired-line.ts): KTO's data, not pairs.
    problem(
      'an unpaired line ({"prompt", "completion", "label"}): DPO trains on pairs; train the file with mode "kto" (`dpo kto`), or pair it up with `dpo convert --to paired`',
      'label',
    );
    return undefined;
  }
  if (options.completions && 'completion' in o && !('chosen' in o)) {
    // TRL's prompt-completion format, for SFT: the completion stands in for "chosen" (and, unused, "rejected").
    const before = problems.length;
    for (const f of ['prompt', 'completion'] as const) {
      const p = textProblem(o[f], f === 'completion', 'empty completion');
      if (p) problem(p, f);
    }
    if (problems.length > before) return undefined;
    if (isMessageList(o.prompt) !== isMessageList(o.completion)) {
      problem('"prompt" and "completion" must both be text or both be message lists', 'completion');
      return undefined;
    }
    return { line, prompt: o.prompt as Text, chosen: o.completion as Text, rejected: o.completion as Text, conversational: isMessageList(o.prompt) };
  }
  const depth = nestingProblem(o);
  if (depth) {
    problem(depth);
    return undefined;
  }
  if ((o.label === 'tie' || o.label === 'skip') && ('chosen' in o || 'rejected' in o)) {
    // As the labeling editor says: the labeler withdrew the preference, so the pair is not trained on.
    problem(`"${o.label}" but "chosen"/"rejected" are set; label the pair again`, 'label');
    return undefined;
  }
  if (!('prompt' in o) && 'chosen' in o && 'rejected' in o) return implicitPromptPair(o, file, line, problems);
  if ('responses' in o && !('chosen' in o) && !('rejected' in o)) {
    problem('unlabeled pair ("responses" without "chosen"/"rejected"): label it first (DPO: Label Pairs)');
    return undefined;
  }
  const before = problems.length;
  const fields = ['prompt', 'chosen', 'rejected'] as const;
  for (const f of fields) {
    const p = textProblem(o[f], f !== 'prompt');
    if (p) problem(p, f);
  }
  if (problems.length > before) return undefined;
  const [prompt, chosen, rejected] = fields.map((f) => o[f] as Text);
  const conversational = isMessageList(prompt);
  for (const f of ['chosen', 'rejected'] as const) {
    if (isMessageList(o[f]) !== conversational) {
      problem(`is ${conversational ? 'text' : 'a message list'} but "prompt" is ${conversational ? 'a message list' : 'text'}; use one format per line`, f);
    }
  }
  if (problems.length > before) return undefined;
  if (sameText(chosen, rejected)) problem('identical to "chosen": the pair carries no preference', 'rejected');
  const r = o.responses;
  if ((o.label === 'a' || o.label === 'b') && Array.isArray(r) && r.length === 2) {
    const [w, l] = o.label === 'a' ? [r[0], r[1]] : [r[1], r[0]];
    if (!sameText(chosen, w) || !sameText(rejected, l))
      problem('"chosen"/"rejected" are not the two "responses" in the order the label says; label the pair again', 'chosen');
  }
  if (problems.length > before) return undefined;
  return { line, prompt, chosen, rejected, conversational };
}

/** A line without "prompt": the prompt is what chosen and rejected share (TRL's implicit-prompt format). */
function implicitPromptPair(o: Record<string, unknown>, file: string, line: number, problems: DataProblem[]): PreferencePair | undefined {
  const before = problems.length;
  for (const f of ['chosen', 'rejected'] as const) {
    const p = textProblem(o[f], true);
    if (p) problems.push({ file, line, field: f, message: p });
  }
  if (problems.length > before) return undefined;
  if (isMessageList(o.chosen) !== isMessageList(o.rejected)) {
    problems.push({
      file,
      line,
      field: 'rejected',
      message: 'is text but "chosen" is a message list (or the reverse); without "prompt" both must be the same kind',
    });
    return undefined;
  }
  if (sameText(o.chosen, o.rejected)) {
    problems.push({ file, line, field: 'rejected', message: 'identical to "chosen": the pair carries no preference' });
    return undefined;
  }
  const { prompt, chosen, rejected } = extractPrompt(o.chosen as Text, o.rejected as Text);
  for (const [f, v] of [
    ['chosen', chosen],
    ['rejected', rejected],
  ] as const) {
    if (isEmptyText(v))
      problems.push({
        file,
        line,
        field: f,
        message: 'nothing left after the prompt shared with the other response (no "prompt" field, so the shared start is the prompt)',
      });
  }
  if (problems.length > before) return undefined;
  return { line, prompt, chosen, rejected, conversational: isMessageList(prompt) };
}

/** Deeper values than this are refused (recursive checks and JSON.stringify would overflow the stack). */
export const MAX_NESTING = 64;

/** Iterative, so that a 100,000-deep value is measured without recursion. */
function nestingProblem(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > MAX_NESTING) return `a value is nested more than ${MAX_NESTING} levels deep`;
    if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
  return undefined;
}

export interface FormatOptions {
  /** Also accept {"prompt", "completion"} lines (SFT data). */
  completions?: boolean;
}

/** A line labeled "tie" or "skip" with no chosen/rejected (what the labeling editor writes). */
export function isExcludedLine(value: unknown): boolean {
  const o = value as Record<string, unknown>;
  return typeof o === 'object' && o !== null && (o.label === 'tie' || o.label === 'skip') && !('chosen' in o) && !('rejected' in o);
}
