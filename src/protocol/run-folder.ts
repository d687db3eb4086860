// The run folder as a contract between the engines (which write it) and the CLI, the extension and
// the metrics panel (which read it): file names, the records of metrics.jsonl and pairs.jsonl, one
// guard per record and one serializer. Pure (no Node), so the webview can use it too; files are
// read and written in src/node/run-folder.ts. schemas/run-records.schema.json is RUN_RECORDS_SCHEMA.
import { HEALTH_WARNINGS, HealthWarningCode, RUN_PHASES, RunPhase } from './run';
import { assertNever } from './assert-never';
import { ENGINE_NAMES, EngineName } from './config';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  pairs: 'pairs.jsonl',
  log: 'log.txt',
  checkpoints: 'checkpoints',
  final: 'final',
  refCache: 'ref-logps',
  /** Held by the one process writing the run while it runs (src/engine/train/run-lock.ts, python run_lock.py). */
  lock: 'run.lock',
  /** The run's latest progress event, written by `dpo train` for panels in other processes (src/node/progress-file.ts). */
  progress: 'progress.json',
} as const;

/** The marker written last inside a checkpoint; a step folder without it is ignored. */
export const TRAINER_STATE = 'trainer_state.json';

export const METRICS_SPLITS = ['train', 'eval'] as const;
export type MetricsSplit = (typeof METRICS_SPLITS)[number];
export const RUN_STATUSES = ['running', 'completed', 'stopped', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RECORD_KINDS = ['metrics', 'warning', 'status'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** The prefix of every eval metric name (TRL's), e.g. `eval_loss`. */
export const EVAL_PREFIX = 'eval_';

/**
 * One metrics line. On disk the values sit beside kind/split/step/epoch (flat, TRL's names, eval
 * ones prefixed `eval_`); in memory they are kept apart so that every value is a number.
 */
export interface MetricsRecord {
  kind: 'metrics';
  split: MetricsSplit;
  step: number;
  epoch: number;
  values: Record<string, number>;
}

export interface WarningRecord {
  kind: 'warning';
  step: number;
  code: HealthWarningCode;
  message: string;
}

export interface StatusRecord {
  kind: 'status';
  status: RunStatus;
  step: number;
  total_steps: number;
  /** ISO 8601. */
  time: string;
  engine: EngineName;
  /** What the engine computes on, e.g. "wasm" or "cuda:0 NVIDIA H100". */
  device: string;
  message?: string;
}

export type RunRecord = MetricsRecord | WarningRecord | StatusRecord;

/** progress.json: the engine's last progress event (run/didProgress) and when it came. */
export interface ProgressFile {
  phase: RunPhase;
  done: number;
  total: number;
  message?: string;
  /** ISO 8601. */
  time: string;
}

/** One pairs.jsonl line: a pair's values at a logged step, to trace a chart point to its data. */
export interface PairRecord {
  step: number;
  split: MetricsSplit;
  /** 1-based line in the data file (eval_data for eval pairs when given). */
  line: number;
  chosen_reward: number;
  rejected_reward: number;
  margin: number;
  loss: number;
  /**
   * Mode "kto" only: one unpaired example, desirable (true) or not; its reward is chosen_reward
   * (desirable) or rejected_reward (undesirable), the other side holds β·KL, its batch's reference point.
   */
  label?: boolean;
}

/** A metric by its train name (`loss`, `rewards/margins`), read from either split. */
export function metricValue(r: MetricsRecord, name: string): number | undefined {
  return r.values[r.split === 'eval' ? EVAL_PREFIX + name : name];
}

// ---- guards: lenient in what they read (extra fields are ignored, key order never matters) ------

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStep = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const oneOf = <T extends string>(values: readonly T[], v: unknown): v is T => typeof v === 'string' && (values as readonly string[]).includes(v);
const HEAD = new Set(['kind', 'split', 'step', 'epoch']);

function metrics(o: Record<string, unknown>, split: unknown): Parsed<MetricsRecord> {
  if (!oneOf(METRICS_SPLITS, split)) return { ok: false, error: `metrics: split must be "train" or "eval", got ${JSON.stringify(split)}` };
  if (!isStep(o.step)) return { ok: false, error: 'metrics: step must be an integer >= 0' };
  if (o.epoch !== undefined && !isNum(o.epoch)) return { ok: false, error: 'metrics: epoch must be a number' };
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (HEAD.has(k)) continue;
    if (typeof v !== 'number') return { ok: false, error: `metrics: ${k} must be a number` };
    if ((split === 'eval') !== k.startsWith(EVAL_PREFIX))
      return { ok: false, error: `metrics: ${k} in a ${split} record (eval names, and only they, start with "${EVAL_PREFIX}")` };
    values[k] = v;
  }
  return { ok: true, value: { kind: 'metrics', split, step: o.step, epoch: (o.epoch as number | undefined) ?? 0, values } };
}

/** progress.json, checked (a half-written or foreign file is an error, never a throw). */
export function parseProgressFile(raw: unknown): Parsed<ProgressFile> {
  if (!isObj(raw)) return { ok: false, error: 'progress: must be a JSON object' };
  const { phase, done, total, message, time } = raw;
  if (!oneOf(RUN_PHASES, phase) || !isStep(done) || !isStep(total) || typeof time !== 'string' || (message !== undefined && typeof message !== 'string'))
    return { ok: false, error: `progress: needs phase (${RUN_PHASES.join(', ')}), done, total (integers >= 0) and time` };
  return { ok: true, value: { phase, done, total, ...(message !== undefined ? { message } : {}), time } };
}

/** One metrics.jsonl record, checked. A line without `kind` is the old shape: flat metrics, eval when it holds eval_loss. */
export function parseRunRecord(raw: unknown): Parsed<RunRecord> {
  if (!isObj(raw)) return { ok: false, error: 'a record must be a JSON object' };
  if (raw.kind === undefined) return metrics(raw, `${EVAL_PREFIX}loss` in raw ? 'eval' : 'train');
  if (!oneOf(RECORD_KINDS, raw.kind)) return { ok: false, error: `unknown record kind ${JSON.stringify(raw.kind)} (written by a newer version?)` };
  switch (raw.kind) {
    case 'metrics':
      return metrics(raw, raw.split);
    case 'warning':
      if (!isStep(raw.step) || !oneOf(HEALTH_WARNINGS, raw.code) || typeof raw.message !== 'string')
        return { ok: false, error: `warning: needs step, code (one of ${HEALTH_WARNINGS.join(', ')}) and message` };
      return { ok: true, value: { kind: 'warning', step: raw.step, code: raw.code, message: raw.message } };
    case 'status': {
      const { status, step, total_steps, time, engine, device, message } = raw;
      if (
        !oneOf(RUN_STATUSES, status) ||
        !isStep(step) ||
        !isStep(total_steps) ||
        typeof time !== 'string' ||
        !oneOf(ENGINE_NAMES, engine) ||
        typeof device !== 'string'
      ) {
        return {
          ok: false,
          error: `status: needs status (${RUN_STATUSES.join(', ')}), step, total_steps, time, engine (${ENGINE_NAMES.join(', ')}) and device`,
        };
      }
      if (message !== undefined && typeof message !== 'string') return { ok: false, error: 'status: message must be a string' };
      return { ok: true, value: { kind: 'status', status, step, total_steps, time, engine, device, ...(message !== undefined ? { message } : {}) } };
    }
    default:
      return assertNever(raw.kind);
  }
}

export function parsePairRecord(raw: unknown): Parsed<PairRecord> {
  if (!isObj(raw)) return { ok: false, error: 'a pair record must be a JSON object' };
  const { step, split, line, chosen_reward, rejected_reward, margin, loss, label } = raw;
  if (!isStep(step) || !oneOf(METRICS_SPLITS, split) || !isStep(line) || line < 1 || ![chosen_reward, rejected_reward, margin, loss].every(isNum)) {
    return { ok: false, error: 'pair: needs step, split (train|eval), line and the numbers chosen_reward, rejected_reward, margin, loss' };
  }
  if (label !== undefined && typeof label !== 'boolean') return { ok: false, error: 'pair: label, when present, is true or false (mode "kto")' };
  const value = { step, split, line, chosen_reward, rejected_reward, margin, loss } as PairRecord;
  return { ok: true, value: label === undefined ? value : { ...value, label } };
}

export interface ParsedLines<T> {
  records: T[];
  /** Lines that are not records (1-based within the text), skipped, never fatal. */
  problems: { line: number; error: string }[];
  /** Text after the last newline: a line still being written (or torn by a crash). */
  rest: string;
}

/**
 * Complete lines of a chunk of JSONL. With `final` (a whole file, nothing more to come) the text
 * after the last newline is parsed too, and dropped quietly when it is a torn line.
 */
export function parseLines<T>(text: string, guard: (raw: unknown) => Parsed<T>, final = false): ParsedLines<T> {
  const lines = text.split('\n');
  let rest = lines.pop() ?? '';
  const out: ParsedLines<T> = { records: [], problems: [], rest: '' };
  const take = (line: string, i: number, torn: boolean) => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      if (!torn) out.problems.push({ line: i + 1, error: `not JSON: ${(err as Error).message}` });
      return;
    }
    const r = guard(raw);
    if (r.ok) out.records.push(r.value);
    else out.problems.push({ line: i + 1, error: r.error });
  };
  lines.forEach((l, i) => take(l, i, false));
  if (final) {
    take(rest, lines.length, true);
    rest = '';
  }
  out.rest = rest;
  return out;
}

// ---- serializer: exactly the contract's shape -------------------------------------------------

/** A record as a line holds it (on disk, and on the engine's stdout): flat, strings and numbers. */
export type RecordLine = Record<string, string | number>;

export function flatMetrics(r: MetricsRecord): RecordLine {
  return { kind: r.kind, split: r.split, step: r.step, epoch: r.epoch, ...r.values };
}

/** A metrics record from its line (either shape); anything else is an error. */
export function parseMetricsRecord(raw: unknown): Parsed<MetricsRecord> {
  const r = parseRunRecord(raw);
  if (!r.ok || r.value.kind === 'metrics') return r as Parsed<MetricsRecord>;
  return { ok: false, error: `a metrics record was expected, got kind "${r.value.kind}"` };
}

/** A record in the contract's line shape (old kind-less lines come out in the new shape). */
export function toRecordLine(r: RunRecord): RecordLine {
  switch (r.kind) {
    case 'metrics':
      return flatMetrics(r);
    case 'warning':
      return { ...r };
    case 'status':
      return { ...r };
    default:
      return assertNever(r);
  }
}

export function runRecordLine(r: RunRecord): string {
  return JSON.stringify(toRecordLine(r));
}

export function pairRecordLine(p: PairRecord): string {
  return JSON.stringify(p);
}
