// Messages between the extension host and the probe webview (postMessage). The webview speaks
// first ('webview/ready'), the host answers with 'host/didInit'; nothing else is posted before.
// Each side checks what arrives with the guards below and drops (and reports) anything else.
import type { ProbeSampling, ProbeScore, ProbeWhich } from './messages';
import type { TrainingMode } from './config';
import { METRICS_SPLITS, MetricsSplit, PairRecord, RUN_STATUSES, RecordLine, parsePairRecord, parseRunRecord } from './run-folder';

export const WEBVIEW_PROTOCOL_VERSION = 1;

export interface ProbeToHost {
  'webview/ready': { protocolVersion: number };
  'probe/generate': { prompt: string; chat: boolean; sampling: ProbeSampling };
  'probe/cancel': Record<string, never>;
  'probe/score': { which: ProbeWhich; prompt: string; chat: boolean; response: string };
  /** Save the prompt with both answers as a preference pair; `chosen` names the better one. */
  'probe/promote': { prompt: string; chosen: ProbeWhich; policy: string; reference: string };
  /** Open the promote file at a line (the link in "Added the pair as line N of <file>"). */
  'probe/openFile': { file: string; line: number };
}

export interface HostToProbe {
  'host/didInit': {
    protocolVersion: number;
    policyDir: string;
    referenceDir: string;
    beta: number;
    chatTemplate: boolean;
    promoteFile: string;
    /** Text pairs from the run's data file (the first 200), to probe with a prompt or score a pair from it. */
    dataPairs: { line: number; prompt: string; chosen: string; rejected: string }[];
    /** A prompt to start with (the Evaluate panel's "Open in Probe"). */
    prompt?: string;
    /** What the score is for this run's objective, when it is not the objective's own (scoreNote in objectives.ts). */
    scoreNote?: string;
  };
  'probe/didToken': { which: ProbeWhich; text: string };
  'probe/didFinish': { which: ProbeWhich; text: string; reason: string };
  'probe/didScore': { which: ProbeWhich; score: ProbeScore };
  'probe/didPromote': { file: string; line: number };
  'host/didError': { message: string };
}

/**
 * A run's state in the panel: the engine's (status records) or this window's session's; `ended`
 * when no engine in this window runs it and the folder does not say how it ended (a crash, or a
 * run elsewhere).
 */
export const PANEL_RUN_STATUSES = [...RUN_STATUSES, 'starting', 'stopping', 'killed', 'ended'] as const;
export type PanelRunStatus = (typeof PANEL_RUN_STATUSES)[number];

/** A run as the metrics panel draws it. */
export interface MetricsRun {
  runDir: string;
  name: string;
  mode: TrainingMode;
  status: PanelRunStatus;
  /** metrics.jsonl records as the file holds them (metrics, warnings, status); read with parseRunRecord. */
  records: RecordLine[];
  totalSteps?: number;
  backend?: string;
  /** Stopped or crashed with a complete checkpoint, and no engine in this window runs it. */
  resumable?: boolean;
  /** Before its first training step: what the engine is doing ("importing torch…", "loading 0/1"). */
  starting?: string;
  /** While this window's engine runs it: its phase and how far along (the engine's progress events). */
  progress?: RunProgress;
  /** What the legend says beside the name: engine, objective, β, learning rate ("tfjs · sigmoid · β 0.1 · lr 5e-4"). */
  detail?: string;
  /** The config's loss_type (a name or a list), so charts are labelled for the objective (objectives.ts). */
  lossType?: string | string[];
}

/** A running engine's phase in words ("reference log-probs", "evaluating") and done of total (total 0: not counted). */
export interface RunProgress {
  text: string;
  done: number;
  total: number;
}

/** The start of a pair's texts, for the drill-down (a chat message list gives its last message). */
export interface PairText {
  line: number;
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface MetricsToHost {
  'webview/ready': { protocolVersion: number; runDirs: string[] };
  'metrics/requestPairs': { runDir: string; step: number; split: MetricsSplit };
  /** `panelWidth`: the panel's width in CSS pixels, so the line opens where it leaves the panel room. */
  'metrics/openLine': { runDir: string; line: number; split: MetricsSplit; panelWidth?: number };
  'metrics/exportCsv': { runDirs: string[] };
  'metrics/savePng': { name: string; dataUrl: string };
  'metrics/addRun': Record<string, never>;
  'metrics/removeRun': { runDir: string };
  /** Resume a stopped run from its newest checkpoint (the dpo.resumeRun command). */
  'metrics/resume': { runDir: string };
  /** Start a run (the dpo.newTrainingRun command), from the empty panel. */
  'metrics/newRun': Record<string, never>;
}

export interface HostToMetrics {
  'host/didInit': { protocolVersion: number };
  'metrics/didLoadRun': { run: MetricsRun };
  'metrics/didAppend': {
    runDir: string;
    records: RecordLine[];
    status: PanelRunStatus;
    totalSteps?: number;
    etaSeconds?: number;
    resumable?: boolean;
    starting?: string;
    progress?: RunProgress;
  };
  /** A step's pairs, worst margin first, with the texts of those the data file still holds. */
  'metrics/didPairs': { runDir: string; step: number; split: MetricsSplit; pairs: PairRecord[]; texts: PairText[] };
  'metrics/didSave': { file: string };
  'host/didError': { message: string };
}

/** A prompt or response as a line holds it: text, or chat messages. */
export type LabelText = string | { role: string; content: string }[];

/** What a line of a preference file is: still to label (todo), labeled (a, b, tie, skip), blank, or unusable (bad). */
export const LABEL_LINE_KINDS = ['blank', 'bad', 'todo', 'a', 'b', 'tie', 'skip'] as const;
export type LabelLineKind = (typeof LABEL_LINE_KINDS)[number];

/** One line of a preference file as the labeling editor shows it. */
export interface LabelPairView {
  /** 1-based line number. */
  line: number;
  kind: LabelLineKind;
  problems: { field?: string; message: string }[];
  prompt?: LabelText;
  /** [a, b] in file order. */
  responses?: [LabelText, LabelText];
  /** chosen/rejected shown without "responses" (a = chosen). */
  review?: boolean;
  annotator?: string;
  labeledAt?: string;
  /** Blind mode shows b on the left. */
  swapped: boolean;
  /** An unpaired line ({prompt, completion, label}): kind "a" is thumbs up (label true), "b" thumbs down. */
  unpaired?: boolean;
  completion?: LabelText;
  /** The line's text, for lines that are not pairs (cut to 4,000 characters). */
  raw?: string;
  /** The nearest non-blank lines before and after, 0 when there is none. */
  prev: number;
  next: number;
  /** In a review queue: why the pair is there (the tuned model's margin, its rank of all pairs scored). */
  suspicion?: { margin: number; rank: number; of: number };
}

export interface LabelCountsView {
  /** Non-blank lines. */
  pairs: number;
  /** Decided a or b. */
  labeled: number;
  tie: number;
  skip: number;
  /** Still to label. */
  left: number;
  /** Lines that cannot be used for training (Problems). */
  bad: number;
  /** Lines not yet inspected (the counts above are partial until 0). */
  pending: number;
  /** In review mode (DPO: Review Suspicious Pairs): queued pairs confirmed or flipped here, of those queued.
   * The file's own counts say little then: a reviewed file is usually labeled throughout. */
  review?: { reviewed: number; queued: number };
  /** Of `labeled`, lines that came labeled (chosen/rejected in the file, not decided in this editor). */
  given?: number;
}

export type LabelDecision = 'a' | 'b' | 'tie' | 'skip';
export type LabelDirection = 'at' | 'todo' | 'bad';

export interface LabelToHost {
  'webview/ready': { protocolVersion: number };
  /** Show a line: 'at' that line (or the nearest pair), 'todo'/'bad' the next such line after it, wrapping. */
  'label/show': { direction: LabelDirection; line: number };
  /** Views of the lines around `line`, to answer the next key presses without a round trip. */
  'label/prefetch': { line: number };
  'label/decide': { line: number; decision: LabelDecision };
  'label/undo': Record<string, never>;
  /** New text for response a and/or b (file order); null leaves one as it is. */
  'label/edit': { line: number; texts: (string | null)[] };
  'label/openText': { line: number };
  'label/setBlind': { blind: boolean };
  /** Show the tokens this line becomes for training (dpo tokens). */
  'label/previewTokens': { line: number };
}

export interface HostToLabel {
  'host/didInit': { protocolVersion: number; file: string; guidelines: string | null; guidelinesFile: string; blind: boolean; annotator: string };
  'label/didShow': { pair: LabelPairView };
  /** Fresh views of lines (after an edit, or prefetched); the shown line is not changed. */
  'label/didUpdate': { pairs: LabelPairView[] };
  'label/didCounts': { counts: LabelCountsView };
  /** Lines moved (an edit outside this editor added or removed lines), or a review began: cached views are stale; `line`: show it next. */
  'label/didReset': { line?: number };
  /**
   * How long opening took, from the command: until the editor existed (sessionMs), until its webview
   * had loaded (readyMs), until the first pair was sent, and until every line was indexed.
   */
  'label/didMeasure': { firstPairMs: number; indexedMs?: number; sessionMs: number; readyMs: number };
  'host/didError': { message: string };
}

export type WebviewMessage<M> = { [K in keyof M]: { type: K; params: M[K] } }[keyof M];

type Check = (v: unknown) => boolean;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => typeof v === 'string';
const bool: Check = (v) => typeof v === 'boolean';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const which: Check = (v) => v === 'policy' || v === 'reference';
const sampling: Check = (v) =>
  isObj(v) && num(v.maxNewTokens) && num(v.temperature) && num(v.topK) && num(v.topP) && num(v.seed) && Array.isArray(v.stop) && v.stop.every(str);
const score: Check = (v) => isObj(v) && Array.isArray(v.tokens) && num(v.reward) && num(v.policyLogp) && num(v.referenceLogp);

const TO_HOST: { [K in keyof ProbeToHost]: Record<string, Check> } = {
  'webview/ready': { protocolVersion: num },
  'probe/generate': { prompt: str, chat: bool, sampling },
  'probe/cancel': {},
  'probe/score': { which, prompt: str, chat: bool, response: str },
  'probe/promote': { prompt: str, chosen: which, policy: str, reference: str },
  'probe/openFile': { file: str, line: num },
};

const TO_PROBE: { [K in keyof HostToProbe]: Record<string, Check> } = {
  'host/didInit': {
    protocolVersion: num,
    policyDir: str,
    referenceDir: str,
    beta: num,
    chatTemplate: bool,
    promoteFile: str,
    dataPairs: (v) => Array.isArray(v) && v.every((p) => isObj(p) && num(p.line) && str(p.prompt) && str(p.chosen) && str(p.rejected)),
    prompt: (v) => v === undefined || str(v),
    scoreNote: (v) => v === undefined || str(v),
  },
  'probe/didToken': { which, text: str },
  'probe/didFinish': { which, text: str, reason: str },
  'probe/didScore': { which, score },
  'probe/didPromote': { file: str, line: num },
  'host/didError': { message: str },
};

function guard<M>(table: Record<string, Record<string, Check>>, raw: unknown): { ok: true; value: WebviewMessage<M> } | { ok: false; error: string } {
  if (!isObj(raw) || typeof raw.type !== 'string') return { ok: false, error: 'a message is {type, params}' };
  const fields = table[raw.type];
  if (!fields) return { ok: false, error: `unknown message type ${JSON.stringify(raw.type)}` };
  const params = raw.params ?? {};
  if (!isObj(params)) return { ok: false, error: `${raw.type}: params must be an object` };
  for (const [k, check] of Object.entries(fields)) if (!check(params[k])) return { ok: false, error: `${raw.type}: bad or missing params.${k}` };
  return { ok: true, value: { type: raw.type, params } as WebviewMessage<M> };
}

/** The same check for the Evaluate panel's messages (webview-evaluate.ts). */
export const guardMessage = guard;

const strArray: Check = (v) => Array.isArray(v) && v.every(str);
const records: Check = (v) => Array.isArray(v) && v.every((r) => parseRunRecord(r).ok);
const split: Check = (v) => (METRICS_SPLITS as readonly unknown[]).includes(v);
const runStatus: Check = (v) => (PANEL_RUN_STATUSES as readonly unknown[]).includes(v);
const optNum: Check = (v) => v === undefined || num(v);
const optBool: Check = (v) => v === undefined || bool(v);
const optStr: Check = (v) => v === undefined || str(v);
const optProgress: Check = (v) => v === undefined || (isObj(v) && str(v.text) && num(v.done) && num(v.total));
const pairTexts: Check = (v) => Array.isArray(v) && v.every((t) => isObj(t) && num(t.line) && str(t.prompt) && str(t.chosen) && str(t.rejected));

const METRICS_TO_HOST: { [K in keyof MetricsToHost]: Record<string, Check> } = {
  'webview/ready': { protocolVersion: num, runDirs: strArray },
  'metrics/requestPairs': { runDir: str, step: num, split },
  'metrics/openLine': { runDir: str, line: num, split, panelWidth: optNum },
  'metrics/exportCsv': { runDirs: strArray },
  'metrics/savePng': { name: str, dataUrl: (v) => typeof v === 'string' && v.startsWith('data:image/png;base64,') },
  'metrics/addRun': {},
  'metrics/removeRun': { runDir: str },
  'metrics/resume': { runDir: str },
  'metrics/newRun': {},
};

const HOST_TO_METRICS: { [K in keyof HostToMetrics]: Record<string, Check> } = {
  'host/didInit': { protocolVersion: num },
  'metrics/didLoadRun': {
    run: (v) =>
      isObj(v) &&
      str(v.runDir) &&
      str(v.name) &&
      (v.mode === 'dpo' || v.mode === 'sft' || v.mode === 'kto') &&
      runStatus(v.status) &&
      records(v.records) &&
      optBool(v.resumable) &&
      optStr(v.starting) &&
      optProgress(v.progress) &&
      optStr(v.detail) &&
      (v.lossType === undefined || str(v.lossType) || strArray(v.lossType)),
  },
  'metrics/didAppend': {
    runDir: str,
    records,
    status: runStatus,
    totalSteps: optNum,
    etaSeconds: optNum,
    resumable: optBool,
    starting: optStr,
    progress: optProgress,
  },
  'metrics/didPairs': { runDir: str, step: num, split, pairs: (v) => Array.isArray(v) && v.every((p) => parsePairRecord(p).ok), texts: pairTexts },
  'metrics/didSave': { file: str },
  'host/didError': { message: str },
};

export const parseMetricsToHost = (raw: unknown) => guard<MetricsToHost>(METRICS_TO_HOST, raw);
export const parseHostToMetrics = (raw: unknown) => guard<HostToMetrics>(HOST_TO_METRICS, raw);

const labelText: Check = (v) => str(v) || (Array.isArray(v) && v.every((m) => isObj(m) && str(m.role) && str(m.content)));
const lineNo: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const pairView: Check = (v) =>
  isObj(v) &&
  lineNo(v.line) &&
  (LABEL_LINE_KINDS as readonly unknown[]).includes(v.kind) &&
  Array.isArray(v.problems) &&
  v.problems.every((p) => isObj(p) && str(p.message) && optStr(p.field)) &&
  (v.prompt === undefined || labelText(v.prompt)) &&
  (v.responses === undefined || (Array.isArray(v.responses) && v.responses.length === 2 && v.responses.every(labelText))) &&
  bool(v.swapped) &&
  optBool(v.unpaired) &&
  (v.completion === undefined || labelText(v.completion)) &&
  optStr(v.raw) &&
  optStr(v.annotator) &&
  optStr(v.labeledAt) &&
  lineNo(v.prev) &&
  lineNo(v.next) &&
  (v.suspicion === undefined || (isObj(v.suspicion) && num(v.suspicion.margin) && lineNo(v.suspicion.rank) && lineNo(v.suspicion.of)));
const reviewCounts: Check = (v) => v === undefined || (isObj(v) && num(v.reviewed) && num(v.queued));
const counts: Check = (v) =>
  isObj(v) &&
  ['pairs', 'labeled', 'tie', 'skip', 'left', 'bad', 'pending'].every((k) => num(v[k])) &&
  reviewCounts(v.review) &&
  (v.given === undefined || num(v.given));

const LABEL_TO_HOST: { [K in keyof LabelToHost]: Record<string, Check> } = {
  'webview/ready': { protocolVersion: num },
  'label/show': { direction: (v) => v === 'at' || v === 'todo' || v === 'bad', line: lineNo },
  'label/prefetch': { line: lineNo },
  'label/decide': { line: lineNo, decision: (v) => v === 'a' || v === 'b' || v === 'tie' || v === 'skip' },
  'label/undo': {},
  'label/edit': { line: lineNo, texts: (v) => Array.isArray(v) && v.length === 2 && v.every((t) => t === null || str(t)) },
  'label/openText': { line: lineNo },
  'label/setBlind': { blind: bool },
  'label/previewTokens': { line: lineNo },
};

const HOST_TO_LABEL: { [K in keyof HostToLabel]: Record<string, Check> } = {
  'host/didInit': { protocolVersion: num, file: str, guidelines: (v) => v === null || str(v), guidelinesFile: str, blind: bool, annotator: str },
  'label/didShow': { pair: pairView },
  'label/didUpdate': { pairs: (v) => Array.isArray(v) && v.every(pairView) },
  'label/didCounts': { counts },
  'label/didReset': { line: (v) => v === undefined || lineNo(v) },
  'label/didMeasure': { firstPairMs: num, indexedMs: optNum, sessionMs: num, readyMs: num },
  'host/didError': { message: str },
};

export const parseLabelToHost = (raw: unknown) => guard<LabelToHost>(LABEL_TO_HOST, raw);
export const parseHostToLabel = (raw: unknown) => guard<HostToLabel>(HOST_TO_LABEL, raw);

export const parseProbeToHost = (raw: unknown) => guard<ProbeToHost>(TO_HOST, raw);
export const parseHostToProbe = (raw: unknown) => guard<HostToProbe>(TO_PROBE, raw);
