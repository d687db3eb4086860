// The fault suite's judging functions, pure so that unit tests (test/unit/faults/judge.test.ts) can
// feed them inputs that must fail: what of a run must survive a kill and resume, answers to hostile
// protocol messages, and kills that were meant to land inside a checkpoint write. Not the runners.
import { Outcome, Verdict } from './harness';

/** Verdicts that fail the suite: everything but a clear error or a handled fault. */
export const FAILING: Verdict[] = ['unclear', 'accepted', 'hang', 'crash', 'lost', 'differs', 'missed'];

/**
 * Keys whose values are wall-clock measurements, not the run's results: they differ between any two
 * runs (TRL's eval_runtime and *_per_second, our tokens_per_second and elapsed_seconds, tfjs's
 * tensor counts, a status record's time).
 */
const WALL_CLOCK = /^(time|tokens_per_second|elapsed_seconds|memory\/.*|(eval_|train_)?(runtime|samples_per_second|steps_per_second))$/;

export interface RunFiles {
  metrics: string;
  pairs: string;
  /** sha256 of each weights file of final/, by name (absent: no final/). */
  weights?: Record<string, string>;
}

function withoutWallClock(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !WALL_CLOCK.test(k))
      .map(([k, v]) => [k, withoutWallClock(v)]),
  );
}

/**
 * What an interrupted-then-resumed run must reproduce, one item a line: every metrics and pairs
 * record (wall-clock fields aside), the run's last status (the intermediate ones say where it was
 * interrupted: 'running' at each resume, 'stopped' after a SIGTERM), and the final weights.
 */
export function comparableRun(files: RunFiles): string[] {
  const parse = (text: string, file: string) =>
    text
      .split('\n')
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { unreadable: `${file}:${i + 1}`, text: l.slice(0, 80) };
        }
      });
  const metrics = parse(files.metrics, 'metrics.jsonl');
  const statuses = metrics.filter((r) => r.kind === 'status');
  const last = statuses.at(-1);
  const lines = [
    ...metrics.filter((r) => r.kind !== 'status').map((r) => `metrics ${JSON.stringify(withoutWallClock(r))}`),
    `last status ${last ? JSON.stringify(withoutWallClock(last)) : 'none'}`,
    ...parse(files.pairs, 'pairs.jsonl').map((r) => `pairs ${JSON.stringify(withoutWallClock(r))}`),
  ];
  if (!files.weights) lines.push('final/ missing');
  else for (const [name, hash] of Object.entries(files.weights).sort()) lines.push(`final/${name} sha256 ${hash}`);
  return lines;
}

/** For two records of the same kind and step: which fields differ, and how (else undefined). */
function differingFields(a: string | undefined, b: string | undefined): { where: string; keys: string } | undefined {
  const parse = (s: string | undefined) => {
    const m = s === undefined ? null : /^[a-z ]+ (\{.*\})$/.exec(s);
    if (!m) return undefined;
    try {
      return JSON.parse(m[1]) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const x = parse(a);
  const y = parse(b);
  if (!x || !y || x.kind !== y.kind || x.step !== y.step || x.split !== y.split || a!.split(' ')[0] !== b!.split(' ')[0]) return undefined;
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
  const shown = keys.slice(0, 4).map((k) => `${k} expected ${JSON.stringify(x[k])}, got ${JSON.stringify(y[k])}`);
  return { where: `${x.split ?? x.kind ?? ''} step ${x.step}`, keys: shown.join('; ') + (keys.length > 4 ? ` and ${keys.length - 4} more` : '') };
}

/** The first line where two comparable runs differ, said briefly; undefined when identical. */
export function firstDifference(expected: string[], actual: string[]): string | undefined {
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] === actual[i]) continue;
    const cut = (s: string | undefined) => (s === undefined ? '(nothing)' : s.length > 140 ? s.slice(0, 140) + '…' : s);
    const fields = differingFields(expected[i], actual[i]);
    if (fields) return `item ${i + 1} of ${expected.length} (${expected[i].split(' ')[0]} ${fields.where}): ${fields.keys}`;
    return `item ${i + 1} of ${expected.length}: expected ${cut(expected[i])}; got ${cut(actual[i])}`;
  }
  return undefined;
}

/**
 * A kill then resume: 'lost' when the run could not be completed, 'differs' when it differs from the
 * uninterrupted run; 'missed' when the kill did not land where the case meant it to (the case tested nothing);
 * 'ok' only when it landed and the result is identical.
 */
export function judgeResume(
  base: { group: string; name: string; seconds: number },
  r: { failed?: string; difference?: string; landed: boolean; where?: string },
): Outcome {
  if (r.failed) return { ...base, verdict: 'lost', detail: `could not complete the run: ${r.failed}` };
  if (r.difference) return { ...base, verdict: 'differs', detail: `differs from the uninterrupted run at ${r.difference}` };
  if (!r.landed) return { ...base, verdict: 'missed', detail: `the kill did not land ${r.where ?? 'where meant'}; resumed run identical` };
  return { ...base, verdict: 'ok', detail: 'records and final weights identical to the uninterrupted run' };
}

export interface ProtocolAnswer {
  /** The error text of a failed reply, engine/didReject or run/didFail. */
  error?: string;
  /** A success reply or run/didFinish, as sent. */
  accepted?: string;
  /** The engine process ended. */
  exited: boolean;
}

/**
 * A hostile message must get an error that names what is wrong (`expected`), and the engine must stay
 * up; with `expected` null, any answer will do (the message may be valid), but an answer it must be.
 */
export function judgeProtocol(
  base: { group: string; name: string; seconds: number },
  a: ProtocolAnswer,
  expected: RegExp | null,
  limitSeconds: number,
): Outcome {
  if (a.exited) return { ...base, verdict: 'crash', detail: `the engine exited${a.error ? ` after: ${a.error.slice(0, 200)}` : ''}` };
  if (a.error === undefined && a.accepted === undefined) return { ...base, verdict: 'hang', detail: `no answer in ${limitSeconds} s` };
  if (expected === null) return { ...base, verdict: 'ok', detail: `answered, engine up: ${(a.error ?? a.accepted)!.slice(0, 200)}` };
  if (a.error === undefined) return { ...base, verdict: 'accepted', detail: `accepted: ${a.accepted!.slice(0, 200)}` };
  if (!expected.test(a.error)) return { ...base, verdict: 'unclear', detail: `expected ${expected}; got: ${a.error.slice(0, 200)}` };
  return { ...base, verdict: 'clear', detail: a.error.slice(0, 200) };
}

/** Polls `done` every `everyMs` until it is true (resolves true) or `limitMs` has passed (false). */
export async function until(done: () => boolean, limitMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}

/** A markdown table of verdict counts, one row per engine and group, then a total per engine. */
export function countsTable(outcomes: Outcome[]): string {
  const count = (os: Outcome[], v: Verdict[]) => os.filter((o) => v.includes(o.verdict)).length;
  const row = (engine: string, group: string, os: Outcome[]) =>
    `| ${engine} | ${group} | ${os.length} | ${count(os, ['clear'])} | ${count(os, ['ok'])} | ${count(os, ['unclear', 'accepted'])} | ${count(os, ['hang'])} | ${count(os, ['crash'])} | ${count(os, ['lost'])} | ${count(os, ['differs'])} | ${count(os, ['missed'])} |`;
  const rows: string[] = [];
  for (const engine of [...new Set(outcomes.map((o) => o.engine ?? '?'))]) {
    const mine = outcomes.filter((o) => (o.engine ?? '?') === engine);
    for (const group of [...new Set(mine.map((o) => o.group))])
      rows.push(
        row(
          engine,
          group,
          mine.filter((o) => o.group === group),
        ),
      );
    rows.push(row(`**${engine}**`, '**all**', mine));
  }
  return [
    '| engine | group | cases | clear errors | recovered / handled | unclear or accepted | hangs | crashes | run lost | records differ | kills missed |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
