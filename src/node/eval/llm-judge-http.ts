// One chat-completion request to an OpenAI-compatible endpoint, with the judge's retry policy:
// exponential backoff with jitter on 429 (Retry-After honoured), 408, 5xx, timeouts and dropped
// connections; a clear error naming the URL and status for any other failure. The key is sent as a
// bearer token and scrubbed from every message; nothing here writes files (that is judge-cache.ts).
import { RequestLimiter, abortError, sleep } from './llm-judge-limit';

export interface ChatRequestBody {
  model: string;
  messages: { role: 'system' | 'user'; content: string }[];
  temperature: number;
  max_tokens: number;
}

export interface ChatAnswer {
  content: string;
  /** The model the endpoint says answered (may differ from the one asked for, e.g. a dated version). */
  model: string;
  /** Requests made for this answer: 1, plus one per retry. */
  attempts: number;
}

export interface RetryPolicy {
  maxRetries: number;
  /** The first backoff; each retry doubles it, up to maxBackoffMs, and jitter takes up to half off. */
  backoffMs: number;
  maxBackoffMs: number;
  /** A Retry-After longer than this fails the request (a daily quota is not worth waiting for). */
  maxRetryAfterMs: number;
  timeoutMs: number;
}

export interface ChatClientOptions {
  /** The full …/chat/completions URL. */
  endpoint: string;
  apiKey?: string;
  /** Where the key came from, for a 401's message (e.g. "the environment variable OPENAI_API_KEY"). */
  apiKeySource?: string;
  retry: RetryPolicy;
  limiter: RequestLimiter;
  log: (line: string) => void;
  /** In [0, 1); Math.random unless a test fixes it. */
  random?: () => number;
}

/** A request that failed for good; `status` is the HTTP status when there was one. */
export class JudgeRequestError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'JudgeRequestError';
  }
}

/** The OpenAI chat completions URL under a base URL (…/v1); a URL that already names it is kept. */
export function chatCompletionsUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/chat/completions') ? trimmed : `${trimmed}/chat/completions`;
}

// Errors of a connection that was reset, closed or timed out by the network: worth another try.
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The wait a response asks for, in ms: `retry-after-ms` (Azure OpenAI), else Retry-After as seconds or an HTTP date. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const header = headers.get('retry-after');
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The network error's code (fetch wraps it: TypeError "fetch failed" with the socket error as cause). */
function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function errorText(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
}

type Attempt = { ok: true; answer: Omit<ChatAnswer, 'attempts'> } | { ok: false; retry: boolean; message: string; status?: number; waitMs?: number };

export class ChatClient {
  private readonly random: () => number;

  constructor(private readonly o: ChatClientOptions) {
    this.random = o.random ?? Math.random;
  }

  /** The key never leaves in a message, even when an endpoint echoes it back in an error body. */
  private scrub(text: string): string {
    const key = this.o.apiKey;
    return key && key.length >= 4 ? text.split(key).join('***') : text;
  }

  async complete(body: ChatRequestBody, signal?: AbortSignal): Promise<ChatAnswer> {
    const { retry, endpoint } = this.o;
    for (let attempt = 0; ; attempt++) {
      const result = await this.attempt(body, signal);
      if (result.ok) return { ...result.answer, attempts: attempt + 1 };
      if (!result.retry) throw new JudgeRequestError(result.message, endpoint, result.status);
      if (attempt >= retry.maxRetries)
        throw new JudgeRequestError(`${result.message}; gave up after ${attempt + 1} attempt${attempt === 0 ? '' : 's'}`, endpoint, result.status);
      const backoff = Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** attempt);
      // Equal jitter: at least half the backoff, so clients that failed together spread out.
      let waitMs = backoff / 2 + (this.random() * backoff) / 2;
      if (result.waitMs !== undefined) {
        if (result.waitMs > retry.maxRetryAfterMs)
          throw new JudgeRequestError(
            `${result.message} and asks to wait ${Math.ceil(result.waitMs / 1000)} s, more than the ${retry.maxRetryAfterMs / 1000} s this judge waits; try again later or lower the request rate`,
            endpoint,
            result.status,
          );
        // Never sooner than the server asks, and never sooner than the backoff: a busy server that keeps
        // saying "Retry-After: 1" to several clients would otherwise see them all back at once, every second.
        waitMs = Math.max(result.waitMs + this.random() * Math.min(1000, result.waitMs * 0.1), waitMs);
      }
      this.o.log(`LLM judge: ${result.message}; retry ${attempt + 1} of ${retry.maxRetries} in ${(waitMs / 1000).toFixed(1)} s`);
      await sleep(waitMs, signal);
    }
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.o.apiKey) h.Authorization = `Bearer ${this.o.apiKey}`;
    return h;
  }

  private async attempt(body: ChatRequestBody, signal?: AbortSignal): Promise<Attempt> {
    const { endpoint, retry } = this.o;
    const release = await this.o.limiter.acquire(signal);
    // One controller per attempt for the caller's cancel and the time limit (body read included);
    // its listener is removed after, so a long evaluation's signal does not gather thousands.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timed out'));
    }, retry.timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The slot may have just been freed by the other order's final failure, whose cancel of this one
      // settles in microtasks: one macrotask later it has, and nothing is sent for nothing.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw abortError(signal);
      const res = await fetch(endpoint, { method: 'POST', headers: this.headers(), body: JSON.stringify(body), signal: controller.signal });
      const text = await res.text();
      if (res.ok) return this.parseAnswer(text, body.model);
      const message = `${endpoint} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${this.apiMessage(text)}`;
      if (res.status === 429 || res.status === 408 || res.status >= 500)
        return { ok: false, retry: true, message, status: res.status, waitMs: retryAfterMs(res.headers) };
      return { ok: false, retry: false, message: this.scrub(message + this.hint(res.status)), status: res.status };
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      if (timedOut) return { ok: false, retry: true, message: `${endpoint} did not answer within ${retry.timeoutMs / 1000} s` };
      const code = errorCode(err);
      const message = `request to ${endpoint} failed${code ? ` (${code})` : ''}: ${this.scrub(errorText(err))}`;
      if (code !== undefined && TRANSIENT_CODES.has(code)) return { ok: false, retry: true, message };
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND')
        return { ok: false, retry: false, message: `${message}; is the judge server running, and is the judge URL right?` };
      return { ok: false, retry: false, message };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      release();
    }
  }

  /** The `error.message` of an OpenAI-shaped error body, else the start of the body. */
  private apiMessage(text: string): string {
    let detail = text.trim();
    try {
      const e = (JSON.parse(text) as { error?: { message?: unknown } | string }).error;
      const m = typeof e === 'string' ? e : e?.message;
      if (typeof m === 'string') detail = m;
    } catch {
      // not JSON: keep the raw start of the body
    }
    detail = this.scrub(detail).replace(/\s+/g, ' ').slice(0, 300);
    return detail ? `: ${detail}` : '';
  }

  private hint(status: number): string {
    if (status === 401 || status === 403) {
      const source = this.o.apiKeySource ? `The key from ${this.o.apiKeySource}` : 'The key sent';
      return this.o.apiKey
        ? `. ${source} was refused: check it, or that it may use this model`
        : '. No key was sent: set it in the environment variable that dpo eval --judge-key-env names';
    }
    if (status === 404) return '. Check the judge URL (the base, ending in /v1) and the model name';
    return '';
  }

  private parseAnswer(text: string, asked: string): Attempt {
    const bad = (why: string): Attempt => ({
      ok: false,
      retry: false,
      message: `${this.o.endpoint} answered 200 but ${why}: ${this.scrub(text).slice(0, 200)}`,
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return bad('not with JSON');
    }
    const choice = (parsed as { choices?: { message?: { content?: unknown } }[] }).choices?.[0];
    if (!choice || typeof choice !== 'object' || !choice.message) return bad('not with a chat completion (no choices[0].message)');
    const content = choice.message.content;
    const model = (parsed as { model?: unknown }).model;
    // A null content (a refusal, or a reasoning model that spent max_tokens thinking) is an empty answer: no verdict.
    return { ok: true, answer: { content: typeof content === 'string' ? content : '', model: typeof model === 'string' ? model : asked } };
  }
}
