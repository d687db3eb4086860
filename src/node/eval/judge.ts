// What a pairwise judge is to the evaluation: it sees a prompt and the policy's and the reference's
// answers and returns a verdict for the policy. The LLM judge (llm-judge.ts) is one; reward-model and
// implicit-reward verdicts come from scores instead (run-eval.ts).
import { JudgeVerdict, ProbeMessage } from '../../protocol';

export interface PairToJudge {
  promptIndex: number;
  sample: number;
  /** The prompt text (a conversation's last user turn) and, for a conversation, all of it. */
  prompt: string;
  messages?: ProbeMessage[];
  policy: string;
  reference: string;
}

export interface PairJudge {
  /** The key of this judge in summary.json's `judges` and in each line's `verdicts` (e.g. "llm:gpt-4o"). */
  readonly name: string;
  readonly kind: 'llm';
  /** The judge's model name, as the summary reports it. */
  readonly source: string;
  judge(pair: PairToJudge, signal?: AbortSignal): Promise<JudgeVerdict>;
}

export interface LlmJudgeOptions {
  /** The endpoint's base URL (…/v1), an OpenAI-compatible chat completions API. */
  url: string;
  model: string;
  /** Sent as a bearer token; read from the environment or VS Code's secret storage, never written anywhere. */
  apiKey?: string;
  /** The judge prompt's template (a file the user may edit); the default is built in. */
  promptTemplate?: string;
  /** Where answers are cached so a re-run does not pay twice (default: the user's cache folder). */
  cacheDir?: string;
  maxRetries?: number;
  requestsPerMinute?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}
