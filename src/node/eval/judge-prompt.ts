// The LLM judge's prompt: the built-in template, its placeholders, rendering a pair into it, and
// reading the winner back out of the judge's answer. Pure text work: no HTTP, no cache, no files
// except readJudgePromptFile, which checks a user's edited template.
import * as fs from 'node:fs';
import { ProbeMessage } from '../../protocol';

/** The placeholders a template holds; each must appear at least once. */
export const JUDGE_PLACEHOLDERS = {
  instruction: '{instruction}',
  outputA: '{output_a}',
  outputB: '{output_b}',
} as const;

/**
 * The default template, in the spirit of AlpacaEval's and MT-Bench's pairwise judges: a short reason
 * first (judges that reason before deciding agree with people more often), then one machine-readable
 * last line. Position and length are named as biases to ignore; the judge also sees both orders.
 */
export const DEFAULT_JUDGE_TEMPLATE = `You are an impartial judge. Two AI assistants answered the same instruction. Decide which answer \
follows the instruction better: consider helpfulness, correctness, relevance and level of detail. \
Do not let the order of the answers or their length sway you. If they are equally good or equally bad, call it a tie.

## Instruction
{instruction}

## Output A
{output_a}

## Output B
{output_b}

Explain your decision in at most three sentences. Then write a final line that is exactly one of:
Winner: A
Winner: B
Winner: tie
`;

export type JudgeChoice = 'A' | 'B' | 'tie';

export interface JudgeAnswer {
  /** The winner the judge named; undefined when no verdict line could be found. */
  choice: JudgeChoice | undefined;
  /** The answer without its verdict line (all of it when there was none), trimmed. */
  reason: string;
}

/** Throws naming the missing placeholders; `where` says which template (a file, or "the judge prompt"). */
export function checkJudgeTemplate(template: string, where = 'the judge prompt'): void {
  const missing = Object.values(JUDGE_PLACEHOLDERS).filter((p) => !template.includes(p));
  if (missing.length > 0)
    throw new Error(
      `${where} lacks the placeholder${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: a judge template must hold ` +
        `${Object.values(JUDGE_PLACEHOLDERS).join(', ')} (the instruction and the two answers); see docs/evaluation.md#llm-judges`,
    );
}

/** Reads a judge template file (UTF-8) and checks its placeholders, naming the file on any problem. */
export function readJudgePromptFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`judge prompt ${file}: ${(err as Error).message}`, { cause: err });
  }
  checkJudgeTemplate(text, `judge prompt ${file}`);
  return text;
}

/**
 * The instruction as the judge reads it: the prompt itself, or for a conversation with more than one
 * turn, every turn labelled by its role (the answers continue the last one).
 */
export function instructionText(prompt: string, messages?: ProbeMessage[]): string {
  if (!messages || messages.length <= 1) return prompt;
  return messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
}

/** Fills the placeholders in one pass, so an answer that itself contains "{output_b}" is left as written. */
export function renderJudgePrompt(template: string, instruction: string, outputA: string, outputB: string): string {
  const values: Record<string, string> = { instruction, output_a: outputA, output_b: outputB };
  return template.replace(/\{(instruction|output_a|output_b)\}/g, (_m, name: string) => values[name]);
}

const CHOICES: Record<string, JudgeChoice> = { a: 'A', b: 'B', c: 'tie', tie: 'tie', draw: 'tie', neither: 'tie', both: 'tie', equal: 'tie' };

// A verdict line: "Winner: A", "**Final verdict:** Output (b)", "The winner is B.", "Winner: tie".
// The choice must end the line, so "Winner: A would be my first guess, but…" does not count.
const VERDICT_LINE =
  /(?:^|\b)(?:final\s+)?(?:winner|verdict|decision|better\s+(?:output|answer|response)|preferred\s+(?:output|answer|response))(?:\s+is)?\s*[:=\-–]?\s*(?:output|answer|response|assistant)?\s*[([]*\s*(a|b|tie|draw|neither|both|equal)\s*[)\]]*\s*[.!]?$/i;
// MT-Bench's "[[A]]", "[[B]]", "[[C]]" (C is a tie), anywhere on the line.
const BRACKETS = /\[\[\s*(a|b|c|tie)\s*\]\]/i;
// A line that is only the choice: "A", "Output (b)", "tie".
const BARE = /^(?:output|answer|response|assistant)?\s*[([]?\s*(a|b|tie)\s*[)\]]?\s*[.!]?$/i;

function choiceOf(line: string): JudgeChoice | undefined {
  const plain = line.replace(/[*_`#>]/g, '').trim();
  if (plain === '') return undefined;
  const m = VERDICT_LINE.exec(plain) ?? BRACKETS.exec(plain) ?? BARE.exec(plain);
  return m ? CHOICES[m[1].toLowerCase()] : undefined;
}

/** Finds the last verdict line of a judge's answer (judges sometimes add a note after it). */
export function parseJudgeAnswer(text: string): JudgeAnswer {
  const lines = text.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const choice = choiceOf(lines[i]);
    if (choice) return { choice, reason: [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n').trim() };
  }
  return { choice: undefined, reason: text.trim() };
}
