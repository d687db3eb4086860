// A pairwise LLM judge through any OpenAI-compatible /v1/chat/completions endpoint. Each pair is
// judged twice, policy first then reference first, and the two answers are mapped back to the models:
// a win needs both orders to prefer the policy, so a judge that always picks "A" gives ties.
// The prompt is judge-prompt.ts, HTTP and retries llm-judge-http.ts, the disk cache judge-cache.ts.
import { EVAL_MODELS, EvalModel, JudgeOrder, JudgeVerdict } from '../../protocol';
import { JudgeCache, defaultJudgeCacheDir, judgeCacheKey } from './judge-cache';
import { LlmJudgeOptions, PairJudge, PairToJudge } from './judge';
import { DEFAULT_JUDGE_TEMPLATE, checkJudgeTemplate, instructionText, parseJudgeAnswer, readJudgePromptFile, renderJudgePrompt } from './judge-prompt';
import { ChatClient, ChatRequestBody, chatCompletionsUrl } from './llm-judge-http';
import { RequestLimiter } from './llm-judge-limit';

export const LLM_JUDGE_DEFAULTS = {
  maxRetries: 5,
  requestsPerMinute: 60,
  concurrency: 4,
  timeoutMs: 120_000,
  maxTokens: 300,
  backoffMs: 1000,
  maxBackoffMs: 60_000,
  maxRetryAfterMs: 120_000,
} as const;

/** The reason recorded for both orders when the two answers are the same text (no request is made). */
export const IDENTICAL_REASON = 'The two answers are identical: a tie, not sent to the judge.';

/** Reasons are kept whole unless a judge rambles; results.jsonl holds one per order and pair. */
const MAX_REASON_CHARS = 4000;

function positiveInt(name: string, v: number | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min) throw new Error(`LLM judge option ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the judge URL ${JSON.stringify(url)} is not a URL: give the endpoint's base, e.g. http://127.0.0.1:8000/v1`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`the judge URL ${url} must start with http:// or https://`);
  // A user:password in the URL would be echoed by every message that names the URL.
  if (parsed.username || parsed.password)
    throw new Error(`the judge URL must not hold credentials: put the key in an environment variable and name it (--judge-key-env NAME)`);
}

/** Which model each position held in one order, and what the judge's choice means for the policy. */
function preferredIn(first: EvalModel, choice: 'A' | 'B' | 'tie' | undefined): EvalModel | 'tie' {
  if (choice === 'A') return first;
  if (choice === 'B') return first === 'policy' ? 'reference' : 'policy';
  return 'tie';
}

/** Win only when both orders prefer the policy, loss only when both prefer the reference; else a tie. */
export function combineOrders(orders: JudgeOrder[]): JudgeVerdict {
  const all = (m: EvalModel) => orders.length > 0 && orders.every((o) => o.preferred === m);
  return { verdict: all('policy') ? 'win' : all('reference') ? 'loss' : 'tie', orders };
}

export function createLlmJudge(options: LlmJudgeOptions): PairJudge {
  checkUrl(options.url);
  if (!options.model.trim()) throw new Error('the judge model name is empty: give the model the endpoint serves (e.g. --judge-model gpt-4o)');
  const template = options.promptTemplate ?? (options.promptFile ? readJudgePromptFile(options.promptFile) : DEFAULT_JUDGE_TEMPLATE);
  checkJudgeTemplate(template);
  const endpoint = chatCompletionsUrl(options.url);
  const maxTokens = positiveInt('maxTokens', options.maxTokens, LLM_JUDGE_DEFAULTS.maxTokens);
  const log = options.log ?? (() => undefined);
  const client = new ChatClient({
    endpoint,
    apiKey: options.apiKey,
    apiKeySource: options.apiKeySource,
    log,
    limiter: new RequestLimiter({
      requestsPerMinute: options.requestsPerMinute ?? LLM_JUDGE_DEFAULTS.requestsPerMinute,
      concurrency: positiveInt('concurrency', options.concurrency, LLM_JUDGE_DEFAULTS.concurrency),
    }),
    retry: {
      maxRetries: positiveInt('maxRetries', options.maxRetries, LLM_JUDGE_DEFAULTS.maxRetries, 0),
      backoffMs: options.backoffMs ?? LLM_JUDGE_DEFAULTS.backoffMs,
      maxBackoffMs: LLM_JUDGE_DEFAULTS.maxBackoffMs,
      maxRetryAfterMs: LLM_JUDGE_DEFAULTS.maxRetryAfterMs,
      timeoutMs: positiveInt('timeoutMs', options.timeoutMs, LLM_JUDGE_DEFAULTS.timeoutMs),
    },
  });
  const cache = new JudgeCache(options.cacheDir ?? defaultJudgeCacheDir());

  async function judgeOrder(pair: PairToJudge, first: EvalModel, signal?: AbortSignal): Promise<JudgeOrder> {
    const [a, b] = first === 'policy' ? [pair.policy, pair.reference] : [pair.reference, pair.policy];
    const body: ChatRequestBody = {
      model: options.model,
      messages: [{ role: 'user', content: renderJudgePrompt(template, instructionText(pair.prompt, pair.messages), a, b) }],
      temperature: 0,
      max_tokens: maxTokens,
    };
    const key = judgeCacheKey({ url: endpoint, model: options.model, template, request: body });
    let content: string;
    let cached = false;
    const hit = options.noCache ? undefined : cache.get(key);
    if (hit) {
      content = hit.content;
      cached = true;
    } else {
      const answer = await client.complete(body, signal);
      content = answer.content;
      try {
        cache.put(key, { content, model: answer.model, created: new Date().toISOString() });
      } catch (err) {
        // A full disk or a read-only cache costs a re-run money, not this run its verdict.
        log(`LLM judge: could not cache an answer in ${cache.dir}: ${(err as Error).message}`);
      }
    }
    const parsed = parseJudgeAnswer(content);
    const order: JudgeOrder = { first, preferred: preferredIn(first, parsed.choice), reason: parsed.reason.slice(0, MAX_REASON_CHARS) };
    if (parsed.choice === undefined) order.unparsed = true;
    if (cached) order.cached = true;
    return order;
  }

  return {
    name: `llm:${options.model}`,
    kind: 'llm',
    source: options.model,
    async judge(pair: PairToJudge, signal?: AbortSignal): Promise<JudgeVerdict> {
      // The same text twice is a tie whatever a judge says (AlpacaEval does the same): not worth paying for.
      if (pair.policy === pair.reference) return combineOrders(EVAL_MODELS.map((first) => ({ first, preferred: 'tie', reason: IDENTICAL_REASON })));
      // Both orders at once (the limiter bounds what is in flight, whoever calls); when one fails for
      // good the other is cancelled, so no request outlives the error the caller sees.
      const both = new AbortController();
      const onAbort = () => both.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) both.abort(signal.reason);
      try {
        const orders = await Promise.all(
          EVAL_MODELS.map((first) =>
            judgeOrder(pair, first, both.signal).catch((err: unknown) => {
              both.abort(err);
              throw err;
            }),
          ),
        );
        return combineOrders(orders);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}
