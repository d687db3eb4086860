// Messages between the extension host and the Evaluate panel's webview (postMessage), and the guards
// each side runs on what arrives. The panel reads only evaluation folders (eval-results.ts): the host
// lists them and sends their summaries; a selected evaluation's answers come on request.
import type { EvalResultLine, EvalSummary } from './eval-results';
import { WebviewMessage, guardMessage } from './webview';

/** One evaluation folder as the panel shows it: a row of the table and a point of the frontier chart. */
export interface EvaluationView {
  dir: string;
  /** The chart's series: the run's folder name for `<run>/eval/<name>/`, else the folder's own name. */
  series: string;
  runDir?: string;
  /** `final`, `checkpoint-<step>`, or the folder's name. */
  name: string;
  /** The checkpoint's step (from summary.json or the folder name); absent for a final model without one. */
  step?: number;
  summary: EvalSummary;
}

/** A prompt and sample: the policy's and the reference's answers, with the policy line's verdicts. */
export interface EvalPairView {
  promptIndex: number;
  sample: number;
  prompt: string;
  policy?: EvalResultLine;
  reference?: EvalResultLine;
}

export interface EvaluateToHost {
  /** `folders`: evaluation folders outside the runs that the user added before (the webview's saved state). */
  'webview/ready': { protocolVersion: number; folders: string[] };
  'evaluate/requestPairs': { dir: string };
  /** The probe panel on that evaluation's policy with this pair's prompt. */
  'evaluate/openInProbe': { dir: string; promptIndex: number; sample: number };
  /** Append {prompt, chosen: better, rejected: worse} by `judge`'s verdict to the session's preference file. */
  'evaluate/addPair': { dir: string; promptIndex: number; sample: number; judge: string };
  'evaluate/addFolder': Record<string, never>;
  /** Start "DPO: Evaluate Model…" (from the empty panel). */
  'evaluate/evaluate': Record<string, never>;
  'evaluate/openFile': { file: string; line: number };
}

export interface HostToEvaluate {
  'host/didInit': { protocolVersion: number };
  /** Every evaluation found, and the folders that could not be read (file and why). */
  'evaluate/didList': { evaluations: EvaluationView[]; problems: string[]; extraFolders: string[] };
  /** `total`: pairs in the folder; `pairs` may hold fewer (the first ones). */
  'evaluate/didPairs': { dir: string; pairs: EvalPairView[]; total: number };
  'evaluate/didAddPair': { file: string; line: number };
  /** Something the user asked for and cannot have, said politely (a tie cannot become a pair). */
  'evaluate/didNotice': { message: string };
  'host/didError': { message: string };
}

type Check = (v: unknown) => boolean;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const optNum: Check = (v) => v === undefined || num(v);
const strArray: Check = (v) => Array.isArray(v) && v.every(str);
const interval: Check = (v) => Array.isArray(v) && v.length === 2 && v.every(num);

/** The fields the panel draws with; the rest of a summary passes through unchecked. */
export const isEvalSummaryShape: Check = (v) =>
  isObj(v) &&
  v.version === 1 &&
  num(v.kl) &&
  interval(v.kl_ci) &&
  isObj(v.judges) &&
  Object.values(v.judges).every((j) => isObj(j) && num(j.win_rate) && interval(j.win_rate_ci) && optNum(j.lc_win_rate)) &&
  isObj(v.models) &&
  isObj(v.models.policy) &&
  num(v.models.policy.mean_length) &&
  optNum(v.models.policy.mean_reward);

const evaluation: Check = (v) =>
  isObj(v) && str(v.dir) && str(v.series) && str(v.name) && optNum(v.step) && (v.runDir === undefined || str(v.runDir)) && isEvalSummaryShape(v.summary);
const answer: Check = (v) => v === undefined || (isObj(v) && str(v.text) && num(v.tokens) && (v.model === 'policy' || v.model === 'reference'));
const pair: Check = (v) => isObj(v) && num(v.promptIndex) && num(v.sample) && str(v.prompt) && answer(v.policy) && answer(v.reference);

const TO_HOST: { [K in keyof EvaluateToHost]: Record<string, Check> } = {
  'webview/ready': { protocolVersion: num, folders: strArray },
  'evaluate/requestPairs': { dir: str },
  'evaluate/openInProbe': { dir: str, promptIndex: num, sample: num },
  'evaluate/addPair': { dir: str, promptIndex: num, sample: num, judge: str },
  'evaluate/addFolder': {},
  'evaluate/evaluate': {},
  'evaluate/openFile': { file: str, line: num },
};

const TO_WEBVIEW: { [K in keyof HostToEvaluate]: Record<string, Check> } = {
  'host/didInit': { protocolVersion: num },
  'evaluate/didList': { evaluations: (v) => Array.isArray(v) && v.every(evaluation), problems: strArray, extraFolders: strArray },
  'evaluate/didPairs': { dir: str, pairs: (v) => Array.isArray(v) && v.every(pair), total: num },
  'evaluate/didAddPair': { file: str, line: num },
  'evaluate/didNotice': { message: str },
  'host/didError': { message: str },
};

export const parseEvaluateToHost = (raw: unknown) => guardMessage<EvaluateToHost>(TO_HOST, raw);
export const parseHostToEvaluate = (raw: unknown) => guardMessage<HostToEvaluate>(TO_WEBVIEW, raw);
export type EvaluateMessage = WebviewMessage<EvaluateToHost>;
