// The prompts `dpo eval` answers: read from a JSONL of prompts ({prompt: text} or {prompt: [messages]},
// or preference lines, whose prompt is used), or a run's held-out split. Reads files; loads no model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DpoConfig, ProbeMessage, RUN_FILES, isMessageList, parseLines, parsePairRecord } from '../../protocol';
import { extractPrompt } from '../../protocol/implicit-prompt';

export interface EvalPrompt {
  /** 0-based position in the prompt list `dpo eval` answers (results.jsonl's prompt_index). */
  index: number;
  /** Where it came from, for messages: "<file>:<line>". */
  origin: string;
  /** The text; for a conversation, its last user turn. */
  text: string;
  /** The whole conversation, when the prompt was one (then generated through the chat template). */
  messages?: ProbeMessage[];
}

function fromValue(v: Record<string, unknown>, where: string): Omit<EvalPrompt, 'index' | 'origin'> {
  let prompt: unknown = v.prompt;
  // TRL's implicit-prompt preference lines: the prompt is what chosen and rejected share.
  if (prompt === undefined && v.chosen !== undefined && v.rejected !== undefined) {
    const c = v.chosen;
    const r = v.rejected;
    if ((typeof c === 'string' && typeof r === 'string') || (isMessageList(c) && isMessageList(r))) prompt = extractPrompt(c, r).prompt;
  }
  if (typeof prompt === 'string') {
    if (!prompt.trim()) throw new Error(`${where}: field "prompt" is empty; give the text to answer`);
    return { text: prompt };
  }
  if (isMessageList(prompt) && prompt.length > 0) {
    const messages = prompt.map((m) => ({ role: m.role, content: m.content }) as ProbeMessage);
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    return { text: lastUser?.content ?? messages[messages.length - 1].content, messages };
  }
  throw new Error(
    `${where}: field "prompt" must be a string or a non-empty list of {"role", "content"} messages ` +
      `(a prompt line is {"prompt": "..."}; preference lines are read for their prompt)`,
  );
}

/**
 * The prompts of a JSONL file, in file order; `only` keeps just those 1-based lines (a run's eval
 * split). Blank lines are skipped; any other unusable line stops with its file, line and field.
 */
export function readPromptFile(file: string, only?: Set<number>): EvalPrompt[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the prompts (${(err as Error).message}); --prompts takes a JSONL file`, { cause: err });
  }
  const out: EvalPrompt[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim() || (only && !only.has(line))) return;
    const where = `${file}:${line}`;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${where}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: must be a JSON object with a "prompt" field`);
    out.push({ index: out.length, origin: where, ...fromValue(v as Record<string, unknown>, where) });
  });
  if (out.length === 0) throw new Error(`${file}: no prompts in it; add lines of {"prompt": "..."}`);
  return out;
}

/**
 * A run's held-out prompts: its eval_data file, or the lines its eval_fraction split held out, as the
 * run itself recorded them (pairs.jsonl's eval records name each data line): the exact split the run
 * used on either engine, after its truncation drops, without redoing the engine's seeded shuffle.
 */
export function runEvalPrompts(runDir: string, config: DpoConfig): { file: string; prompts: EvalPrompt[] } {
  const abs = (f: string) => path.resolve(runDir, f);
  if (config.eval_data) return { file: abs(config.eval_data), prompts: readPromptFile(abs(config.eval_data)) };
  const pairsFile = path.join(runDir, RUN_FILES.pairs);
  const records = fs.existsSync(pairsFile) ? parseLines(fs.readFileSync(pairsFile, 'utf8'), parsePairRecord, true).records : [];
  const lines = new Set(records.filter((r) => r.split === 'eval').map((r) => r.line));
  if (config.eval_fraction <= 0 || lines.size === 0)
    throw new Error(
      `${runDir}: the run has no recorded eval split (eval_data unset and ${config.eval_fraction > 0 ? `no eval pairs in ${RUN_FILES.pairs} yet` : 'eval_fraction 0'}); give the prompts with --prompts <jsonl>`,
    );
  return { file: abs(config.data), prompts: readPromptFile(abs(config.data), lines) };
}
