// The evaluation folder that `dpo eval` writes (both engines) and the Evaluate panel, the metrics
// panel and scripts read: file names, the line of results.jsonl and summary.json. Pure (no Node), so
// the webview can use it too. Field names are snake_case on disk, like config.json; scripts depend on
// `prompt`, `model`, `sample`, `text`, `reward` and `win_rate`, `win_rate_ci`, `lc_win_rate`, `kl`,
// `kl_ci` (docs/cli.md documents all of them).
import { ProbeMessage } from './messages';
import type { Parsed } from './run-folder';

export const EVAL_FILES = {
  results: 'results.jsonl',
  summary: 'summary.json',
  /** The options the evaluation ran with (no secrets: a judge key is never written). */
  options: 'eval.json',
} as const;

/** Inside a run folder, evaluations live in `eval/<name>/` (`final`, `checkpoint-50`, …). */
export const RUN_EVAL_DIR = 'eval';

export const EVAL_MODELS = ['policy', 'reference'] as const;
export type EvalModel = (typeof EVAL_MODELS)[number];

export const JUDGE_KINDS = ['reward-model', 'llm', 'implicit-reward'] as const;
export type JudgeKind = (typeof JUDGE_KINDS)[number];

/** The policy answer against the reference answer of the same prompt and sample, as one judge sees it. */
export const VERDICTS = ['win', 'tie', 'loss'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One judging of a pair in one order (an LLM judge sees each pair twice, to cancel position bias). */
export interface JudgeOrder {
  /** Which answer was shown first. */
  first: EvalModel;
  /** What the judge preferred in this order, mapped back to the models ('tie' when it said so or gave no parseable answer). */
  preferred: EvalModel | 'tie';
  /** The judge's reason, as it wrote it (trimmed). */
  reason: string;
  /** True when the judge's answer named no winner: the order counts as a tie and `reason` holds the whole answer. */
  unparsed?: boolean;
  /** True when the answer came from the judge cache, not a new request. */
  cached?: boolean;
}

export interface JudgeVerdict {
  verdict: Verdict;
  /** Reward-model and implicit-reward judges: policy score − reference score. */
  margin?: number;
  /** LLM judges: both orders. */
  orders?: JudgeOrder[];
}

/** One line of results.jsonl: one sampled answer. */
export interface EvalResultLine {
  /** Index of the prompt in the prompt file (0-based), and its text (a conversation's last user turn). */
  prompt_index: number;
  prompt: string;
  /** The whole conversation when the prompt was conversational. */
  messages?: ProbeMessage[];
  model: EvalModel;
  /** 0 … samples−1; policy and reference answers with the same prompt_index and sample are compared. */
  sample: number;
  /** The sampling seed of this answer (fixed: a re-run samples the same answers). */
  seed: number;
  text: string;
  /** Generated tokens (EOS included when generation ended on it), and why generation ended ("eos", "length", "stop", "context"). */
  tokens: number;
  /** The sampled token ids (EOS included): policy_logp and reference_logp are of exactly these tokens. */
  token_ids?: number[];
  finish_reason: string;
  /** Summed log-probabilities of the answer's tokens under each model, given the prompt. */
  policy_logp: number;
  reference_logp: number;
  /** The reward model's score of prompt + answer, when a reward model was given. */
  reward?: number;
  /** Another DPO run's implicit reward β·(log π − log π_ref) of the answer, when one was given. */
  implicit_reward?: number;
  /** On policy lines only: each judge's verdict on this answer against the reference answer of the same prompt and sample. */
  verdicts?: Record<string, JudgeVerdict>;
}

/** A 95% interval [low, high]. */
export type Interval = [number, number];

export interface JudgeSummary {
  kind: JudgeKind;
  /** False for an implicit reward (a DPO run's own view of preference is not independent evidence). */
  independent: boolean;
  /** For an LLM judge: its model name; for a reward model or a run: its folder. */
  source: string;
  wins: number;
  ties: number;
  losses: number;
  /** (wins + ties/2) / pairs, with a 95% interval over prompts. */
  win_rate: number;
  win_rate_ci: Interval;
  /** The win rate with the length difference regressed out (AlpacaEval 2's idea); absent with fewer than 2 lengths. */
  lc_win_rate?: number;
  mean_length_policy: number;
  mean_length_reference: number;
}

export interface ModelSummary {
  answers: number;
  /** Mean answer length in tokens. */
  mean_length: number;
  /** Mean reward-model score, when a reward model was given. */
  mean_reward?: number;
  mean_reward_ci?: Interval;
}

export interface EvalSummary {
  version: 1;
  /** ISO 8601. */
  created: string;
  engine: 'tfjs' | 'torch';
  policy: string;
  reference: string;
  /** The run folder and checkpoint step evaluated, when the policy came from a run. */
  run?: string;
  step?: number;
  prompts: number;
  samples: number;
  seed: number;
  max_new_tokens: number;
  temperature: number;
  /** KL(π‖π_ref) estimated from the policy's own samples: mean of summed log π − log π_ref, and its 95% interval. */
  kl: number;
  kl_ci: Interval;
  /**
   * False when the answers were not sampled from π itself (temperature ≠ 1, top-k or top-p): the
   * estimate is then of the sampler's distribution, not KL(π‖π_ref).
   */
  kl_exact_sampler: boolean;
  /** The first judge's figures, repeated at the top for scripts. */
  win_rate?: number;
  win_rate_ci?: Interval;
  lc_win_rate?: number;
  judges: Record<string, JudgeSummary>;
  models: Record<EvalModel, ModelSummary>;
}

// ---- guards: readers (the Evaluate panel, scripts, a resumed `dpo eval`) validate every line ------

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isOneOf = <T extends string>(values: readonly T[], v: unknown): v is T => typeof v === 'string' && (values as readonly string[]).includes(v);
const isInterval = (v: unknown): v is Interval => Array.isArray(v) && v.length === 2 && isNum(v[0]) && isNum(v[1]) && v[0] <= v[1];
const isMessages = (v: unknown): v is ProbeMessage[] =>
  Array.isArray(v) && v.every((m) => isObj(m) && isOneOf(['system', 'user', 'assistant'], m.role) && isStr(m.content));

type Field = [name: string, ok: (v: unknown) => boolean, what: string, optional?: boolean];

/** The first field of `o` that fails its check, as "<where>: <field> must be <what>". */
function firstBad(o: Record<string, unknown>, fields: Field[], where: string): string | undefined {
  for (const [name, ok, what, optional] of fields) {
    if (optional && o[name] === undefined) continue;
    if (!ok(o[name])) return `${where}: ${name} must be ${what}, got ${JSON.stringify(o[name]) ?? 'nothing'}`;
  }
  return undefined;
}

function isOrder(v: unknown): boolean {
  return isObj(v) && isOneOf(EVAL_MODELS, v.first) && isOneOf([...EVAL_MODELS, 'tie'], v.preferred) && isStr(v.reason);
}

function verdictProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'must be an object';
  return firstBad(
    v,
    [
      ['verdict', (x) => isOneOf(VERDICTS, x), '"win", "tie" or "loss"'],
      ['margin', isNum, 'a number', true],
      ['orders', (x) => Array.isArray(x) && x.every(isOrder), 'a list of {first, preferred, reason}', true],
    ],
    'verdict',
  );
}

const LINE_FIELDS: Field[] = [
  ['prompt_index', isCount, 'an integer >= 0'],
  ['prompt', isStr, 'a string'],
  ['messages', isMessages, 'a list of {role, content}', true],
  ['model', (v) => isOneOf(EVAL_MODELS, v), '"policy" or "reference"'],
  ['sample', isCount, 'an integer >= 0'],
  ['seed', Number.isInteger, 'an integer'],
  ['text', isStr, 'a string'],
  ['tokens', isCount, 'an integer >= 0'],
  ['token_ids', (v) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0), 'a list of token ids', true],
  ['finish_reason', isStr, 'a string'],
  ['policy_logp', isNum, 'a number'],
  ['reference_logp', isNum, 'a number'],
  ['reward', isNum, 'a number', true],
  ['implicit_reward', isNum, 'a number', true],
];

/** One line of results.jsonl (extra fields are kept as they are; key order never matters). */
export function parseEvalResultLine(raw: unknown): Parsed<EvalResultLine> {
  if (!isObj(raw)) return { ok: false, error: 'results line: must be a JSON object' };
  const bad = firstBad(raw, LINE_FIELDS, 'results line');
  if (bad) return { ok: false, error: bad };
  if (raw.verdicts !== undefined) {
    if (!isObj(raw.verdicts)) return { ok: false, error: 'results line: verdicts must be an object of judge name to verdict' };
    for (const [name, v] of Object.entries(raw.verdicts)) {
      const p = verdictProblem(v);
      if (p) return { ok: false, error: `results line: verdicts.${name}: ${p}` };
    }
  }
  return { ok: true, value: raw as unknown as EvalResultLine };
}

const JUDGE_FIELDS: Field[] = [
  ['kind', (v) => isOneOf(JUDGE_KINDS, v), `one of ${JUDGE_KINDS.join(', ')}`],
  ['independent', (v) => typeof v === 'boolean', 'true or false'],
  ['source', isStr, 'a string'],
  ['wins', isCount, 'an integer >= 0'],
  ['ties', isCount, 'an integer >= 0'],
  ['losses', isCount, 'an integer >= 0'],
  ['win_rate', isNum, 'a number'],
  ['win_rate_ci', isInterval, 'an interval [low, high]'],
  ['lc_win_rate', isNum, 'a number', true],
  ['mean_length_policy', isNum, 'a number'],
  ['mean_length_reference', isNum, 'a number'],
];

const MODEL_FIELDS: Field[] = [
  ['answers', isCount, 'an integer >= 0'],
  ['mean_length', isNum, 'a number'],
  ['mean_reward', isNum, 'a number', true],
  ['mean_reward_ci', isInterval, 'an interval [low, high]', true],
];

const SUMMARY_FIELDS: Field[] = [
  ['version', (v) => v === 1, '1'],
  ['created', isStr, 'an ISO 8601 time'],
  ['engine', (v) => isOneOf(['tfjs', 'torch'], v), '"tfjs" or "torch"'],
  ['policy', isStr, 'a string'],
  ['reference', isStr, 'a string'],
  ['run', isStr, 'a string', true],
  ['step', isCount, 'an integer >= 0', true],
  ['prompts', isCount, 'an integer >= 0'],
  ['samples', isCount, 'an integer >= 0'],
  ['seed', Number.isInteger, 'an integer'],
  ['max_new_tokens', isCount, 'an integer >= 0'],
  ['temperature', isNum, 'a number'],
  ['kl', isNum, 'a number'],
  ['kl_ci', isInterval, 'an interval [low, high]'],
  ['kl_exact_sampler', (v) => typeof v === 'boolean', 'true or false'],
  ['win_rate', isNum, 'a number', true],
  ['win_rate_ci', isInterval, 'an interval [low, high]', true],
  ['lc_win_rate', isNum, 'a number', true],
  ['judges', isObj, 'an object of judge name to figures'],
  ['models', (v) => isObj(v) && EVAL_MODELS.every((m) => isObj(v[m])), 'an object with "policy" and "reference"'],
];

/** summary.json, checked down to each judge's and model's figures. */
export function parseEvalSummary(raw: unknown): Parsed<EvalSummary> {
  if (!isObj(raw)) return { ok: false, error: 'summary: must be a JSON object' };
  const bad = firstBad(raw, SUMMARY_FIELDS, 'summary');
  if (bad) return { ok: false, error: bad };
  for (const [name, j] of Object.entries(raw.judges as Record<string, unknown>)) {
    const p = isObj(j) ? firstBad(j, JUDGE_FIELDS, `summary: judges.${name}`) : `summary: judges.${name} must be an object`;
    if (p) return { ok: false, error: p };
  }
  for (const m of EVAL_MODELS) {
    const p = firstBad((raw.models as Record<string, Record<string, unknown>>)[m], MODEL_FIELDS, `summary: models.${m}`);
    if (p) return { ok: false, error: p };
  }
  return { ok: true, value: raw as unknown as EvalSummary };
}
