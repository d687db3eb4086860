// The engine protocol: JSON lines on stdio between the extension host and the engine process.
// Requests {kind:'request', id, type, params} get one reply {kind:'reply', id, ok, result|error};
// events {kind:'event', type, params} flow from the engine. Types are `area/verb` for requests and
// `area/didVerb` for events; each maps to its params in one interface. Everything that arrives
// passes a guard first; a bad message gets an error, never a crash.
import { BACKEND_NAMES, BackendReport, isBackendName } from './backend';
import { DpoConfig, ENGINE_NAMES, EngineName, TRAINING_MODES, TrainingMode } from './config';
import { FinishReason, HEALTH_WARNINGS, HealthWarning, RUN_PHASES, RunPhase } from './run';
import { RecordLine, parseMetricsRecord } from './run-folder';

export const PROTOCOL_VERSION = 1;
/** The longest request line an engine reads (bytes, newline excluded); a longer one is dropped and rejected. Requests
 * are small (a run config is a few KB); 16 MiB leaves room for long probe prompts. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Sampling settings of a probe generation (the engine's defaults fill what is missing). */
export interface ProbeSampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stop: string[];
}

export type ProbeWhich = 'policy' | 'reference';

/** One turn of a conversation to render with the model's chat template. */
export interface ProbeMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}
export const PROBE_ROLES = ['system', 'user', 'assistant'] as const;

export interface ProbeScore {
  /** `text`, `partOf` and `unfinished` as token-text.ts's rule makes them (both engines). */
  tokens: { text: string; partOf?: string; unfinished?: boolean; policyLogp: number; referenceLogp: number; reward: number }[];
  policyLogp: number;
  referenceLogp: number;
  reward: number;
}

export interface EngineRequests {
  /** Start a run; `config` is a partial run config (paths absolute), resolved by the engine. */
  'run/start': { params: { mode: TrainingMode; config: Record<string, unknown> }; result: { runDir: string } };
  /** Continue a run folder from its newest complete checkpoint. */
  'run/resume': { params: { runDir: string }; result: { runDir: string } };
  /** Finish the current step, write a checkpoint, and end the run ('stopped'). */
  'run/stop': { params: Record<string, never>; result: { stopping: boolean } };
  /** Load a tuned model (and its reference) for probing; replaces what was loaded. */
  'probe/load': {
    params: { policyDir: string; referenceDir?: string };
    result: { architecture: string; parameters: number; hasReference: boolean; chatTemplate: boolean };
  };
  /**
   * Generate from one model; tokens stream as probe/didToken events carrying this request's id.
   * With `chat`, `messages` (a whole conversation, as OpenAI's chat API sends it) replace the single
   * user turn `prompt` would make. `promptTokens` (newer engines) counts the rendered prompt; `ids`
   * (newer engines) are the sampled token ids, EOS included when generation ended on it.
   */
  'probe/generate': {
    params: { which: ProbeWhich; prompt: string; chat: boolean; sampling: Partial<ProbeSampling>; messages?: ProbeMessage[] };
    result: { text: string; tokens: number; reason: string; promptTokens?: number; ids?: number[] };
  };
  /**
   * The implicit reward of a response, per token. With `chat`, `messages` replace the single user turn,
   * as in probe/generate. `responseIds` (probe/generate's `ids`) are scored instead of `response`
   * re-encoded: decoding and encoding again need not give the tokens that were sampled.
   */
  'probe/score': {
    params: { prompt: string; chat: boolean; response: string; beta: number; messages?: ProbeMessage[]; responseIds?: number[] };
    result: ProbeScore;
  };
  /**
   * Load a reward model: a `*ForSequenceClassification` folder with one label (what TRL's RewardTrainer
   * writes). It sits beside what probe/load loaded; a second load replaces the first.
   */
  'reward-model/load': { params: { dir: string }; result: { architecture: string; parameters: number; chatTemplate: boolean } };
  /**
   * The reward model's score of prompt + response, as TRL's RewardTrainer scores it: the score head on
   * the last token; with `chat`, `messages` (or the single user turn `prompt` makes) plus the response
   * as an assistant turn go through the reward model's chat template.
   */
  'reward-model/score': { params: { prompt: string; chat: boolean; response: string; messages?: ProbeMessage[] }; result: { score: number } };
  /** Cancel the generations in progress (they finish with reason "cancelled"). */
  'probe/cancel': { params: Record<string, never>; result: { cancelled: number } };
  /** Stop any run gracefully, then exit 0. */
  'engine/shutdown': { params: Record<string, never>; result: Record<string, never> };
}

export interface EngineEvents {
  /**
   * The handshake. `backend` is the tfjs engine's backend report (absent on the torch engine);
   * `engine` and `device` ("wasm", "cpu", "cuda:0") say what runs, `devices` lists GPUs with memory.
   */
  'engine/didStart': {
    protocolVersion: number;
    backend?: BackendReport;
    pid: number;
    engine?: EngineName;
    device?: string;
    devices?: { index: number; name: string; memoryBytes: number }[];
  };
  'run/didStart': { runDir: string; config: DpoConfig };
  'run/didProgress': { phase: RunPhase; done: number; total: number; message?: string };
  /** The metrics line exactly as metrics.jsonl holds it (read it with parseMetricsRecord). */
  'run/didLogMetrics': { record: RecordLine };
  'run/didWarn': HealthWarning;
  'run/didCheckpoint': { step: number; dir: string };
  'run/didLog': { line: string };
  'run/didFinish': { runDir: string; reason: FinishReason; step: number; totalSteps: number; finalDir?: string };
  'run/didFail': { runDir?: string; message: string };
  'probe/didToken': { requestId: number; which: ProbeWhich; text: string; logprob: number };
  /** A message the engine could not act on (malformed, unknown type, bad params). */
  'engine/didReject': { message: string; line: string };
}

export type RequestType = keyof EngineRequests;
export type EventType = keyof EngineEvents;

export type Request<T extends RequestType = RequestType> = { [K in T]: { kind: 'request'; id: number; type: K; params: EngineRequests[K]['params'] } }[T];
export type Reply = { kind: 'reply'; id: number; ok: true; result: unknown } | { kind: 'reply'; id: number; ok: false; error: string };
export type Event<T extends EventType = EventType> = { [K in T]: { kind: 'event'; type: K; params: EngineEvents[K] } }[T];
export type EngineMessage = Reply | Event;

export type Guarded<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * A guard for one field: a test that names what is wrong, and the JSON Schema fragment that says the
 * same, so that schemas/protocol.schema.json (which the Python engine validates with) is generated
 * from these tables and cannot drift from them.
 */
export interface Check {
  (v: unknown): string | undefined;
  readonly schema: Record<string, unknown>;
  readonly optional?: boolean;
}

const check = (schema: Record<string, unknown>, test: (v: unknown) => string | undefined): Check => Object.assign(test, { schema });
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = check({ type: 'string' }, (v) => (typeof v === 'string' ? undefined : 'must be a string'));
const num = check({ type: 'number' }, (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : 'must be a finite number'));
const obj = check({ type: 'object' }, (v) => (isObj(v) ? undefined : 'must be an object'));
const oneOf = (values: readonly unknown[]) =>
  check({ enum: [...values] }, (v) => (values.includes(v) ? undefined : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`));
const optional = (c: Check): Check => Object.assign((v: unknown) => (v === undefined ? undefined : c(v)), { schema: c.schema, optional: true });
const empty: Record<string, Check> = {};
/** Own keys only: a type such as "toString" or "__proto__" must not find Object.prototype's members. */
const has = (table: object, key: string) => Object.prototype.hasOwnProperty.call(table, key);
const int = (min: number): Check =>
  check({ type: 'integer', minimum: min }, (v) => (Number.isInteger(v) && (v as number) >= min ? undefined : `must be an integer >= ${min}`));
const range = (min: number, max: number): Check =>
  check({ type: 'number', minimum: min, maximum: max }, (v) =>
    typeof v === 'number' && v >= min && v <= max ? undefined : `must be a number from ${min} to ${max}`,
  );
const strings = check({ type: 'array', items: { type: 'string' } }, (v) =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? undefined : 'must be a list of strings',
);
const tokenIds = check({ type: 'array', items: { type: 'integer', minimum: 0 } }, (v) =>
  Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0) ? undefined : 'must be a list of token ids (integers >= 0)',
);
const messageList = check(
  {
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      required: ['role', 'content'],
      additionalProperties: false,
      properties: { role: { enum: [...PROBE_ROLES] }, content: { type: 'string' } },
    },
  },
  (v) => {
    if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty list of {role, content}';
    for (const [i, m] of v.entries()) {
      if (!isObj(m) || !PROBE_ROLES.includes(m.role as ProbeMessage['role']) || typeof m.content !== 'string')
        return `[${i}] must be {role: ${PROBE_ROLES.map((r) => JSON.stringify(r)).join(' | ')}, content: string}`;
      const extra = Object.keys(m).find((k) => k !== 'role' && k !== 'content');
      if (extra) return `[${i}].${extra} is not a message field (role, content)`;
    }
    return undefined;
  },
);
/** Probe sampling settings: each optional, each checked (a string "stop" or a negative topK is refused). */
const SAMPLING_FIELDS: Record<keyof ProbeSampling, Check> = {
  maxNewTokens: int(1),
  temperature: range(0, 1e6),
  topK: int(0),
  topP: range(0, 1),
  seed: int(0),
  stop: strings,
};
const sampling = check(
  { type: 'object', additionalProperties: false, properties: Object.fromEntries(Object.entries(SAMPLING_FIELDS).map(([k, c]) => [k, c.schema])) },
  (v) => {
    if (!isObj(v)) return 'must be an object';
    for (const [k, c] of Object.entries(v)) {
      const e = has(SAMPLING_FIELDS, k)
        ? SAMPLING_FIELDS[k as keyof ProbeSampling](c)
        : `is not a sampling setting (${Object.keys(SAMPLING_FIELDS).join(', ')})`;
      if (e) return `.${k} ${e}`;
    }
    return undefined;
  },
);

function checkFields(params: unknown, fields: Record<string, Check>): string | undefined {
  if (!isObj(params)) return 'params must be an object';
  for (const [k, c] of Object.entries(fields)) {
    const e = c(params[k]);
    if (e) return `params.${k}${e.startsWith('.') ? '' : ' '}${e}`;
  }
  return undefined;
}

export const REQUEST_PARAMS: { [K in RequestType]: Record<string, Check> } = {
  'run/start': { mode: oneOf(TRAINING_MODES), config: obj },
  'run/resume': { runDir: str },
  'run/stop': empty,
  'engine/shutdown': empty,
  'probe/load': { policyDir: str, referenceDir: optional(str) },
  'probe/generate': { which: oneOf(['policy', 'reference']), prompt: str, chat: oneOf([true, false]), sampling, messages: optional(messageList) },
  'probe/score': { prompt: str, chat: oneOf([true, false]), response: str, beta: num, messages: optional(messageList), responseIds: optional(tokenIds) },
  'probe/cancel': empty,
  'reward-model/load': { dir: str },
  'reward-model/score': { prompt: str, chat: oneOf([true, false]), response: str, messages: optional(messageList) },
};

const backendReport = check(
  { type: 'object', required: ['name', 'skipped'], properties: { name: { enum: [...BACKEND_NAMES] }, skipped: { type: 'array' } } },
  (v) => (isObj(v) && isBackendName(v.name) && Array.isArray(v.skipped) ? undefined : 'must be a backend report'),
);
// A metrics.jsonl line as run-folder.ts defines it (kind-tagged, or the old flat shape).
const metricsRecord = check({ type: 'object', required: ['step'] }, (v) => {
  const r = parseMetricsRecord(v);
  return r.ok ? undefined : `must be a record of numbers with a step (a metrics.jsonl line): ${r.error}`;
});
const deviceList = check(
  {
    type: 'array',
    items: {
      type: 'object',
      required: ['index', 'name', 'memoryBytes'],
      properties: { index: { type: 'integer' }, name: { type: 'string' }, memoryBytes: { type: 'number' } },
    },
  },
  (v) =>
    Array.isArray(v) && v.every((d) => isObj(d) && typeof d.index === 'number' && typeof d.name === 'string' && typeof d.memoryBytes === 'number')
      ? undefined
      : 'must be a list of {index, name, memoryBytes}',
);

export const EVENT_PARAMS: { [K in EventType]: Record<string, Check> } = {
  // backend is the tfjs engine's; engine/device/devices were added later (optional: older engines omit them).
  'engine/didStart': {
    protocolVersion: num,
    backend: optional(backendReport),
    pid: num,
    engine: optional(oneOf(ENGINE_NAMES)),
    device: optional(str),
    devices: optional(deviceList),
  },
  'run/didStart': { runDir: str, config: obj },
  'run/didProgress': { phase: oneOf(RUN_PHASES), done: num, total: num, message: optional(str) },
  'run/didLogMetrics': { record: metricsRecord },
  'run/didWarn': { code: oneOf(HEALTH_WARNINGS), message: str, step: num },
  'run/didCheckpoint': { step: num, dir: str },
  'run/didLog': { line: str },
  'run/didFinish': { runDir: str, reason: oneOf(['completed', 'stopped']), step: num, totalSteps: num, finalDir: optional(str) },
  'run/didFail': { runDir: optional(str), message: str },
  'engine/didReject': { message: str, line: str },
  'probe/didToken': { requestId: num, which: oneOf(['policy', 'reference']), text: str, logprob: num },
};

function parseLine(line: string): Guarded<Record<string, unknown>> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  if (!isObj(raw)) return { ok: false, error: 'a message must be a JSON object' };
  return { ok: true, value: raw };
}

/** Deeper than this, a message is refused before it is read (Python's JSON reader overflows its stack near 1,000). */
export const MAX_MESSAGE_DEPTH = 64;

/** True when `v` nests arrays and objects more than `max` deep; iterative, so no depth overflows it. */
function nestedDeeper(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d > max) return true;
    for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return false;
}

/** The path (`params.config.beta`) of the first number JSON.parse overflowed to ±Infinity, if any. */
function nonFinitePath(v: unknown, at: string): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : at;
  if (typeof v !== 'object' || v === null) return undefined;
  for (const [k, c] of Object.entries(v)) {
    const found = nonFinitePath(c, Array.isArray(v) ? `${at}[${k}]` : at ? `${at}.${k}` : k);
    if (found) return found;
  }
  return undefined;
}

/**
 * Engine side: a line from the host, checked to be a request it knows. Never throws; `id` is set
 * when the line carries a usable id (so that the error can be answered). The rules and their order
 * are the contract of test/conformance/protocol, which the torch engine's parse_request follows too.
 */
export function parseRequest(line: string): Guarded<Request> & { id?: number } {
  const p = parseLine(line);
  if (!p.ok) return p;
  const m = p.value;
  if (nestedDeeper(m, MAX_MESSAGE_DEPTH)) return { ok: false, error: `nested more than ${MAX_MESSAGE_DEPTH} deep: not a message of this protocol` };
  // -0 is answered as 0; ids beyond 2^53 cannot be told apart once read, so they are refused.
  const id = Number.isSafeInteger(m.id) ? (m.id as number) + 0 : undefined;
  if (m.kind !== 'request') return { ok: false, error: `kind must be "request", got ${JSON.stringify(m.kind)}`, id };
  if (id === undefined) return { ok: false, error: 'id must be an integer (at most 2^53 - 1 in size)' };
  if (typeof m.type !== 'string' || !has(REQUEST_PARAMS, m.type)) return { ok: false, error: `unknown request type ${JSON.stringify(m.type)}`, id };
  const overflow = nonFinitePath(m, '');
  if (overflow) return { ok: false, error: `${overflow} is out of range (a number beyond ±1.8e308, such as 1e400)`, id };
  const e = checkFields(m.params ?? {}, REQUEST_PARAMS[m.type as RequestType]);
  if (e) return { ok: false, error: `${m.type}: ${e}`, id };
  return { ok: true, value: { kind: 'request', id, type: m.type, params: m.params ?? {} } as Request, id };
}

/** Host side: a line from the engine, checked to be a reply or a known event. */
export function parseEngineMessage(line: string): Guarded<EngineMessage> {
  const p = parseLine(line);
  if (!p.ok) return p;
  const m = p.value;
  if (m.kind === 'reply') {
    if (typeof m.id !== 'number' || typeof m.ok !== 'boolean') return { ok: false, error: 'a reply needs a numeric id and a boolean ok' };
    if (!m.ok && typeof m.error !== 'string') return { ok: false, error: 'a failed reply needs an error string' };
    return { ok: true, value: m as unknown as Reply };
  }
  if (m.kind !== 'event') return { ok: false, error: `kind must be "reply" or "event", got ${JSON.stringify(m.kind)}` };
  if (typeof m.type !== 'string' || !has(EVENT_PARAMS, m.type)) return { ok: false, error: `unknown event type ${JSON.stringify(m.type)}` };
  const e = checkFields(m.params, EVENT_PARAMS[m.type as EventType]);
  if (e) return { ok: false, error: `${m.type}: ${e}` };
  return { ok: true, value: m as unknown as Event };
}

export function eventLine<T extends EventType>(type: T, params: EngineEvents[T]): string {
  return JSON.stringify({ kind: 'event', type, params }) + '\n';
}

export function requestLine<T extends RequestType>(id: number, type: T, params: EngineRequests[T]['params']): string {
  return JSON.stringify({ kind: 'request', id, type, params }) + '\n';
}
