// Run-level faults for the fault suite, on either engine: kill -9 at random moments and inside
// checkpoint and final/ writes, then resume and compare with an uninterrupted run; SIGTERM; several
// writers on one run. The judging is in judge.ts; file-system faults are in filesystem.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { DPO, Outcome, runNode } from './harness';
import { EngineUnderTest } from './engines';
import { RunFiles, comparableRun, firstDifference, judgeResume, until } from './judge';
import { Rng } from '../../src/engine/rng';
import type { Fixture } from './inputs';

const RUN = ['--max-steps', '12', '--save-steps', '3', '--eval-steps', '4', '--eval-fraction', '0.25', '--batch-size', '2'];
const HYPER = ['--learning-rate', '1e-3', '--warmup-ratio', '0', '--seed', '3'];
export const trainArgs = (f: Fixture, e: EngineUnderTest, out: string) => [
  DPO,
  'train',
  '--model',
  f.model,
  '--data',
  f.data,
  '--out',
  out,
  ...RUN,
  ...HYPER,
  ...e.trainFlags,
];
export const resumeArgs = (e: EngineUnderTest, out: string) => [DPO, 'train', '--resume', out, ...e.resumeFlags];

const readIf = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

/** The files of a run folder that a resumed run must reproduce. */
export function runFiles(dir: string): RunFiles {
  const final = path.join(dir, 'final');
  const weights = fs.existsSync(final)
    ? Object.fromEntries(
        fs
          .readdirSync(final)
          .filter((n) => n.endsWith('.safetensors'))
          .map((n) => [
            n,
            crypto
              .createHash('sha256')
              .update(fs.readFileSync(path.join(final, n)))
              .digest('hex'),
          ]),
      )
    : undefined;
  return { metrics: readIf(path.join(dir, 'metrics.jsonl')), pairs: readIf(path.join(dir, 'pairs.jsonl')), weights };
}

export const record = (dir: string): string[] => comparableRun(runFiles(dir));

/** Resumes (or, when the kill came before config.json, restarts) until the run completes; why not, if it cannot. */
async function finish(f: Fixture, e: EngineUnderTest, out: string): Promise<string | undefined> {
  for (let i = 0; i < 3; i++) {
    const resumable = fs.existsSync(path.join(out, 'config.json'));
    const c = await runNode(resumable ? resumeArgs(e, out) : trainArgs(f, e, out), 180_000 * e.slow);
    if (c.code === 0) return undefined;
    if (i === 2) return `${resumable ? 'resume' : 'restart'} failed (exit ${c.code ?? c.signal}): ${c.stderr.trim().split('\n').pop()}`;
  }
  return undefined;
}

/** A run in its own process group, so that kill -9 takes the CLI and every engine process with it. */
export function spawnTrain(args: string[]) {
  const child = spawn(process.execPath, args, { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const groupAlive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    child,
    exited,
    /** SIGKILL to the whole group; resolves once no process of it is left (the run lock's holder is gone). */
    killGroup: async () => {
      if (groupAlive()) process.kill(-child.pid!, 'SIGKILL');
      await exited;
      await until(() => !groupAlive(), 10_000);
    },
  };
}

/** A checkpoint or final/ being written in `out` (either engine's staging names), or undefined. */
export function writeInProgress(out: string, target: 'checkpoint' | 'final'): string | undefined {
  const first = (dir: string, test: RegExp) => {
    try {
      const hit = fs.readdirSync(dir).find((n) => test.test(n));
      return hit && path.join(dir, hit);
    } catch {
      return undefined;
    }
  };
  if (target === 'final') return fs.existsSync(path.join(out, 'final.tmp')) ? path.join(out, 'final.tmp') : undefined;
  // The embedded engine writes checkpoints/.tmp-step-N; the torch engine lets TRL write .hf-staging/checkpoint-N.
  return first(path.join(out, 'checkpoints'), /^\.tmp-step-\d+$/) ?? first(path.join(out, '.hf-staging'), /^checkpoint-\d+$/);
}

export async function killCases(f: Fixture, e: EngineUnderTest, kills: number, ckptKills: number, add: (o: Outcome) => void): Promise<void> {
  const limit = 180_000 * e.slow;
  const base = path.join(f.root, 'runs', `${e.name}-uninterrupted`);
  const t0 = Date.now();
  const b = await runNode(trainArgs(f, e, base), limit);
  if (b.code !== 0) {
    add({ group: 'kill -9 and resume', name: 'the uninterrupted run', seconds: b.seconds, verdict: 'crash', detail: `failed: ${b.stderr.slice(-300)}` });
    return;
  }
  const expected = record(base);
  const duration = Date.now() - t0;
  const rng = new Rng(17);
  const compare = async (group: string, name: string, out: string, started: number, landed: boolean, where?: string) => {
    const failed = await finish(f, e, out);
    const difference = failed ? undefined : firstDifference(expected, record(out));
    add(judgeResume({ group, name, seconds: (Date.now() - started) / 1000 }, { failed, difference, landed, where }));
  };
  for (let k = 0; k < kills; k++) {
    const out = path.join(f.root, 'runs', `${e.name}-kill-${k}`);
    const at = Math.round(200 + rng.next() * duration);
    const started = Date.now();
    const run = spawnTrain(trainArgs(f, e, out));
    await new Promise((r) => setTimeout(r, at));
    const ranToEnd = run.child.exitCode !== null;
    await run.killGroup();
    await compare('kill -9 and resume', `kill at ${at} ms`, out, started, !ranToEnd, 'before the run ended');
  }
  for (let k = 0; k < ckptKills; k++) {
    // Killed while a checkpoint (even k) or final/ (odd k) is being written: the moment its staging folder appears.
    const target = k % 2 === 0 ? 'checkpoint' : 'final';
    const out = path.join(f.root, 'runs', `${e.name}-ckpt-kill-${k}`);
    const started = Date.now();
    const run = spawnTrain(trainArgs(f, e, out));
    let writing: string | undefined;
    await until(() => (writing = writeInProgress(out, target)) !== undefined || run.child.exitCode !== null, limit, 1);
    await new Promise((r) => setTimeout(r, Math.floor(rng.next() * 3)));
    await run.killGroup();
    // Landed only if the write was still unfinished when the process died.
    const landed = writing !== undefined && fs.existsSync(writing);
    await compare('kill -9 inside a checkpoint write', `kill in a ${target} write #${k + 1}`, out, started, landed, `inside a ${target} write`);
  }
  await sigtermCase(f, e, expected, add);
  await writersCase(f, e, expected, add);
}

/** SIGTERM (a service manager's stop) after the first checkpoint: the step finishes, a checkpoint, status stopped, exit 0; then resume. */
async function sigtermCase(f: Fixture, e: EngineUnderTest, expected: string[], add: (o: Outcome) => void): Promise<void> {
  const out = path.join(f.root, 'runs', `${e.name}-sigterm`);
  const started = Date.now();
  const base = { group: 'SIGTERM', name: 'SIGTERM after the first checkpoint, then resume', seconds: 0 };
  const run = spawnTrain(trainArgs(f, e, out));
  const checkpointed = await until(
    () => fs.existsSync(path.join(out, 'checkpoints', 'step-3', 'trainer_state.json')) || run.child.exitCode !== null,
    180_000 * e.slow,
  );
  const ranToEnd = run.child.exitCode !== null;
  if (!checkpointed || ranToEnd) {
    await run.killGroup();
    add({ ...base, verdict: checkpointed ? 'missed' : 'hang', detail: checkpointed ? 'the run ended before the signal' : 'no checkpoint in time' });
    return;
  }
  run.child.kill('SIGTERM');
  const stopped = await Promise.race([run.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 120_000 * e.slow))]);
  if (!stopped) {
    await run.killGroup();
    add({ ...base, seconds: (Date.now() - started) / 1000, verdict: 'hang', detail: 'still running 120 s after SIGTERM' });
    return;
  }
  const statuses = comparableRun(runFiles(out)).filter((l) => l.startsWith('last status'));
  const graceful = run.child.exitCode === 0 && /"status":"stopped"/.test(statuses[0] ?? '');
  if (!graceful) {
    add({
      ...base,
      seconds: (Date.now() - started) / 1000,
      verdict: 'crash',
      detail: `exit ${run.child.exitCode ?? run.child.signalCode}; ${statuses[0] ?? 'no status'}`,
    });
    return;
  }
  const failed = await finish(f, e, out);
  const difference = failed ? undefined : firstDifference(expected, record(out));
  add(judgeResume({ ...base, seconds: (Date.now() - started) / 1000 }, { failed, difference, landed: true }));
}

/** Three writers resume one killed run at once: one runs, the others are refused by the lock naming its holder. */
async function writersCase(f: Fixture, e: EngineUnderTest, expected: string[], add: (o: Outcome) => void): Promise<void> {
  const shared = path.join(f.root, 'runs', `${e.name}-shared`);
  const base = { group: 'concurrent writers', name: '3 × dpo train --resume D at once', seconds: 0 };
  const first = spawnTrain(trainArgs(f, e, shared));
  const checkpointed = await until(() => fs.existsSync(path.join(shared, 'checkpoints', 'step-3', 'trainer_state.json')), 180_000 * e.slow);
  await first.killGroup();
  if (!checkpointed) return add({ ...base, verdict: 'hang', detail: 'no checkpoint in time' });
  const started = Date.now();
  const writers = await Promise.all([0, 1, 2].map(() => runNode(resumeArgs(e, shared), 180_000 * e.slow)));
  const won = writers.filter((w) => w.code === 0).length;
  const refused = writers.filter((w) => w.code === 1 && /is in use by another run \(pid \d+ on /.test(w.stderr)).length;
  const difference = won === 1 ? firstDifference(expected, record(shared)) : undefined;
  const verdict = won !== 1 ? 'lost' : difference ? 'differs' : refused === 2 ? 'ok' : 'unclear';
  const detail = `${won} ran, ${refused} refused with the lock holder named; ${difference ? `differs: ${difference}` : won === 1 ? 'identical to the uninterrupted run' : ''}`;
  add({ ...base, seconds: (Date.now() - started) / 1000, verdict, detail });
}
