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
  /** Where the key came from, named when the endpoint refuses it (e.g. "the environment variable OPENAI_API_KEY"). */
  apiKeySource?: string;
  /** The judge prompt's template (a file the user may edit, read with readJudgePromptFile); the default is built in. */
  promptTemplate?: string;
  /** A template file to read when promptTemplate is not given (`dpo eval --judge-prompt FILE`); errors name it. */
  promptFile?: string;
  /** Where answers are cached so a re-run does not pay twice (default: defaultJudgeCacheDir()). */
  cacheDir?: string;
  /** Ask again even when an answer is cached (new answers are still stored). */
  noCache?: boolean;
  /** Retries of one request after a 429, 408, 5xx, timeout or dropped connection (default 5). */
  maxRetries?: number;
  /** Requests started in any minute, retries included (default 60). */
  requestsPerMinute?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** One request's time limit (default 120 s). */
  timeoutMs?: number;
  /** The judge's answer length limit in tokens (default 300: a short reason and the verdict line). */
  maxTokens?: number;
  /** The first retry's backoff (default 1 s; doubled per retry, up to 60 s). */
  backoffMs?: number;
  log?: (line: string) => void;
}
