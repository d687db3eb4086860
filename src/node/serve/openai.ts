// OpenAI's request and response shapes for /v1/chat/completions and /v1/completions: a request body
// checked field by field into one GenerationJob (every error names its field, as OpenAI's `param`
// does), and the completion objects and stream chunks built from what the engine generated.
import { randomBytes, randomInt } from 'node:crypto';
import { ProbeMessage, ProbeSampling } from '../../protocol';

export type Endpoint = 'chat' | 'completion';

export interface GenerationJob {
  endpoint: Endpoint;
  model: string;
  /** The raw prompt (completions); empty for chat. */
  prompt: string;
  messages?: ProbeMessage[];
  sampling: ProbeSampling;
  stream: boolean;
  includeUsage: boolean;
}

/** A client error: the HTTP status and OpenAI's error fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Tokens generated when a request sets no max_tokens (OpenAI's own default is the context). */
export const DEFAULT_MAX_TOKENS = 256;
const MAX_STOPS = 4;
const ROLES: Record<string, ProbeMessage['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (param: string, what: string) => new ApiError(400, `${param} ${what}`, param, 'invalid_value');

function optNumber(body: Record<string, unknown>, key: string, min: number, max: number, integer = false): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
    throw bad(key, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function parseStop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw bad('stop', 'must be a string or a list of strings');
  if (list.length > MAX_STOPS) throw bad('stop', `takes at most ${MAX_STOPS} sequences, got ${list.length}`);
  return (list as string[]).filter((s) => s !== '');
}

/** Text content, or OpenAI's list of content parts of which only text parts are understood. */
function parseContent(v: unknown, param: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((p) => isObj(p) && p.type === 'text' && typeof p.text === 'string'))
    return v.map((p) => (p as { text: string }).text).join('');
  throw bad(param, 'must be a string or a list of {type: "text", text} parts (this model reads text only)');
}

function parseMessages(v: unknown): ProbeMessage[] {
  if (v === undefined) throw new ApiError(400, 'messages is required: a list of {role, content}', 'messages', 'missing_required_parameter');
  if (!Array.isArray(v) || v.length === 0) throw bad('messages', 'must be a non-empty list of {role, content}');
  return v.map((m, i) => {
    if (!isObj(m)) throw bad(`messages[${i}]`, 'must be an object {role, content}');
    const role = typeof m.role === 'string' && Object.prototype.hasOwnProperty.call(ROLES, m.role) ? ROLES[m.role] : undefined;
    if (!role) throw bad(`messages[${i}].role`, `must be one of ${Object.keys(ROLES).join(', ')}, got ${JSON.stringify(m.role)}`);
    return { role, content: parseContent(m.content, `messages[${i}].content`) };
  });
}

function parsePrompt(v: unknown): string {
  if (v === undefined) throw new ApiError(400, 'prompt is required: a string', 'prompt', 'missing_required_parameter');
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  throw bad('prompt', 'must be a string (or a list of exactly one string; token-id prompts and batches are not supported)');
}

/** A parsed JSON body checked into a job; throws ApiError(400) naming the field. */
export function parseJob(endpoint: Endpoint, body: unknown, servedId: string): GenerationJob {
  if (!isObj(body)) throw new ApiError(400, 'the request body must be a JSON object', null, 'invalid_body');
  if (typeof body.model !== 'string')
    throw new ApiError(400, `model is required: a string (this server serves "${servedId}")`, 'model', 'missing_required_parameter');
  if (body.model !== servedId)
    throw new ApiError(400, `model "${body.model}" is not served here; this server serves "${servedId}"`, 'model', 'model_not_found');
  const n = optNumber(body, 'n', 1, Number.MAX_SAFE_INTEGER, true);
  if (n !== undefined && n !== 1) throw bad('n', 'must be 1: this server generates one choice per request');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw bad('stream', 'must be true or false');
  const so = body.stream_options;
  if (so !== undefined && so !== null && (!isObj(so) || (so.include_usage !== undefined && typeof so.include_usage !== 'boolean')))
    throw bad('stream_options', 'must be an object {include_usage: boolean}');
  const maxTokens = optNumber(body, 'max_completion_tokens', 1, 1e6, true) ?? optNumber(body, 'max_tokens', 1, 1e6, true);
  const sampling: ProbeSampling = {
    maxNewTokens: maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: optNumber(body, 'temperature', 0, 2) ?? 1,
    topP: optNumber(body, 'top_p', 0, 1) ?? 1,
    topK: optNumber(body, 'top_k', 0, 1e9, true) ?? 0,
    // Without a seed each request samples anew, as OpenAI's do.
    seed: optNumber(body, 'seed', 0, 2 ** 31 - 1, true) ?? randomInt(2 ** 31 - 1),
    stop: parseStop(body.stop),
  };
  const stream = body.stream === true;
  const includeUsage = stream && isObj(so) && so.include_usage === true;
  if (endpoint === 'chat') return { endpoint, model: servedId, prompt: '', messages: parseMessages(body.messages), sampling, stream, includeUsage };
  return { endpoint, model: servedId, prompt: parsePrompt(body.prompt), sampling, stream, includeUsage };
}

export type FinishReason = 'stop' | 'length';

/** OpenAI's finish_reason for the engine's: an end-of-sequence token or a stop string is "stop". */
export function finishReason(engineReason: string): FinishReason {
  return engineReason === 'eos' || engineReason === 'stop' ? 'stop' : 'length';
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** One response's id and creation time, shared by all its chunks. */
export class Completion {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  constructor(readonly job: GenerationJob) {
    this.id = `${job.endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  }

  private head(chunk: boolean) {
    const object = this.job.endpoint === 'chat' ? (chunk ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    return { id: this.id, object, created: this.created, model: this.job.model };
  }

  whole(text: string, reason: FinishReason, u: Usage): Record<string, unknown> {
    const choice =
      this.job.endpoint === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: reason }
        : { index: 0, text, logprobs: null, finish_reason: reason };
    return { ...this.head(false), choices: [choice], usage: u };
  }

  /** A stream chunk carrying `text` (the chat stream's first chunk also carries the role). */
  chunk(text: string, reason: FinishReason | null, first = false): Record<string, unknown> {
    const choice =
      this.job.endpoint === 'chat'
        ? { index: 0, delta: reason ? {} : { ...(first ? { role: 'assistant' } : {}), content: text }, logprobs: null, finish_reason: reason }
        : { index: 0, text, logprobs: null, finish_reason: reason };
    return { ...this.head(true), choices: [choice] };
  }

  /** The stream's last chunk when the client asked for usage (stream_options.include_usage). */
  usageChunk(u: Usage): Record<string, unknown> {
    return { ...this.head(true), choices: [], usage: u };
  }
}
