// The evaluation folder that `dpo eval` writes (both engines) and the Evaluate panel, the metrics
// panel and scripts read: file names, the line of results.jsonl and summary.json. Pure (no Node), so
// the webview can use it too. Field names are snake_case on disk, like config.json; scripts depend on
// `prompt`, `model`, `sample`, `text`, `reward` and `win_rate`, `win_rate_ci`, `lc_win_rate`, `kl`,
// `kl_ci` (docs/cli.md documents all of them).
import { ProbeMessage } from './messages';

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
  /** Generated tokens, and why generation ended ("eos", "length", "stop"). */
  tokens: number;
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
