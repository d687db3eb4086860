// Messages between the extension host and the probe webview (postMessage). The webview speaks
// first ('webview/ready'), the host answers with 'host/didInit'; nothing else is posted before.
// Each side checks what arrives with the guards below and drops (and reports) anything else.
import type { ProbeSampling, ProbeScore, ProbeWhich } from './messages';

export const WEBVIEW_PROTOCOL_VERSION = 1;

export interface ProbeToHost {
  'webview/ready': { protocolVersion: number };
  'probe/generate': { prompt: string; chat: boolean; sampling: ProbeSampling };
  'probe/cancel': Record<string, never>;
  'probe/score': { which: ProbeWhich; prompt: string; chat: boolean; response: string };
  /** Save the prompt with both answers as a preference pair; `chosen` names the better one. */
  'probe/promote': { prompt: string; chosen: ProbeWhich; policy: string; reference: string };
}

export interface HostToProbe {
  'host/didInit': { protocolVersion: number; policyDir: string; referenceDir: string; beta: number; chatTemplate: boolean; promoteFile: string };
  'probe/didToken': { which: ProbeWhich; text: string };
  'probe/didFinish': { which: ProbeWhich; text: string; reason: string };
  'probe/didScore': { which: ProbeWhich; score: ProbeScore };
  'probe/didPromote': { file: string; line: number };
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
};

const TO_PROBE: { [K in keyof HostToProbe]: Record<string, Check> } = {
  'host/didInit': { protocolVersion: num, policyDir: str, referenceDir: str, beta: num, chatTemplate: bool, promoteFile: str },
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

export const parseProbeToHost = (raw: unknown) => guard<ProbeToHost>(TO_HOST, raw);
export const parseHostToProbe = (raw: unknown) => guard<HostToProbe>(TO_PROBE, raw);
