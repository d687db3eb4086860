// `dpo train` and `dpo sft`: the trainer with a terminal view. Stops gracefully on Ctrl-C (the step
// finishes, a checkpoint is written) and resumes with --resume.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendName, DpoConfig, EngineName, MetricsRecord, TrainingMode, parseMetricsRecord, resolveConfig, timeStamp } from '../protocol';
import { describeBackend, selectBackend } from '../engine/backend';
import { RunResult, Trainer } from '../engine/train/trainer';
import { ProgressLine } from './progress';
import { ProgressFileWriter } from '../node/progress-file';
import { EngineExit, describeExit, lastLinesText } from '../node/engine-client';
import { startTorchEngine } from './torch-engine';
import { CheckpointEvals } from '../node/eval/checkpoint-evals';
import { LiveMetricsExport } from '../node/metrics-export';
import { readRunConfig } from '../node/run-folder';

export interface TrainInvocation {
  mode: TrainingMode;
  /** Merged config values (file, then flags), paths absolute. */
  values: Record<string, unknown>;
  resume?: string;
  source: string;
  quiet?: boolean;
  onMetrics?: (m: MetricsRecord) => void;
}

export function defaultRunDir(base: string, mode: TrainingMode): string {
  return path.join(base, '.dpo', 'runs', `${mode}-${timeStamp()}`);
}

/** The engine a run uses: the resumed run's config, else the given values, else tfjs. */
function engineOf(inv: TrainInvocation): EngineName {
  if (inv.resume) {
    const file = path.join(path.resolve(inv.resume), 'config.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')).engine as EngineName | undefined) ?? 'tfjs';
  }
  return (inv.values.engine as EngineName | undefined) ?? 'tfjs';
}

/**
 * The model folders a new run reads, checked before anything is written: a mistyped path says so,
 * instead of a missing tokenizer.json after an empty run folder was made.
 */
export function checkModelFolders(config: DpoConfig): void {
  for (const dir of [config.model, config.reference_model]) {
    if (dir && !fs.existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
    if (dir && !fs.statSync(dir).isDirectory()) throw new Error(`model folder not found: ${dir} is a file; give the folder that holds config.json`);
  }
}

export async function runTraining(inv: TrainInvocation): Promise<RunResult> {
  if (engineOf(inv) === 'torch') return runTorchTraining(inv);
  const progress = new ProgressLine();
  const resolve = (raw: Record<string, unknown>) => resolveConfig(raw, inv.source);
  let config: DpoConfig | undefined;
  if (!inv.resume) {
    const values: Record<string, unknown> = { ...inv.values, mode: inv.mode };
    if (!values.output_dir) values.output_dir = defaultRunDir(process.cwd(), inv.mode);
    config = resolve(values);
    checkModelFolders(config);
  }
  // threads: the flag or config file, else the new run's resolved config (0: every core).
  const threads = (inv.values.threads as number | undefined) ?? config?.threads;
  const backend = await selectBackend((inv.values.backend ?? undefined) as BackendName | undefined, threads);
  progress.message(describeBackend(backend));
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130); // a second Ctrl-C: leave now, the last checkpoint stands
    stopRequested = true;
    progress.message('stopping after this step (a checkpoint will be written); press Ctrl-C again to quit at once');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint); // a service manager's or `kill`'s stop: the same graceful stop as Ctrl-C
  let evals: CheckpointEvals | undefined;
  let tensorboard: LiveMetricsExport | undefined;
  let result: RunResult;
  const progressFile = new ProgressFileWriter(config?.output_dir);
  try {
    const options = {
      backend,
      shouldStop: () => stopRequested,
      events: {
        onProgress: (phase: Parameters<ProgressLine['phase']>[0], done: number, total: number, message?: string) => {
          progressFile.update(phase, done, total, message);
          if (!inv.quiet) progress.phase(phase, done, total, message);
        },
        onMetrics: (m: MetricsRecord) => {
          progress.metrics(m);
          inv.onMetrics?.(m);
        },
        onWarning: (w: { message: string; step: number }) => progress.message(`warning (step ${w.step}): ${w.message}`),
        // Not "done"/"stopped": the command prints its own closing line (with the resume command).
        onLog: (line: string) => !inv.quiet && /^(data|policy|steps|reference|resumed)/.test(line) && progress.message(line),
        onCheckpoint: (step: number, dir: string) => evals?.checkpoint(step, dir),
      },
    };
    const trainer = inv.resume ? Trainer.resume(path.resolve(inv.resume), options, resolve) : Trainer.create(config!, options);
    progressFile.setRunDir(trainer.config.output_dir);
    evals = CheckpointEvals.forRun(trainer.config.output_dir, trainer.config, evalHooks(progress));
    tensorboard = LiveMetricsExport.forRun(trainer.config.output_dir, trainer.config, evalHooks(progress));
    if (!inv.quiet) progress.message(`run folder: ${trainer.config.output_dir}`);
    result = await trainer.run();
  } catch (err) {
    await tensorboard?.finish(); // a failed run's records are exported too, and the follower must not outlive us
    throw err;
  } finally {
    progressFile.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  await finishEvaluations(evals, result, progress);
  await tensorboard?.finish();
  return result;
}

/**
 * The same run on the torch engine: its process over the protocol, shown with the same progress line.
 * SIGINT and SIGTERM stop it as they stop the embedded path (run/stop: the step finishes, a
 * checkpoint is written, the run is marked stopped, exit 0); a second signal kills the engine.
 */
async function runTorchTraining(inv: TrainInvocation): Promise<RunResult> {
  const progress = new ProgressLine();
  let config: DpoConfig | undefined;
  if (!inv.resume) {
    const values: Record<string, unknown> = { ...inv.values, mode: inv.mode };
    if (!values.output_dir) values.output_dir = defaultRunDir(process.cwd(), inv.mode);
    config = resolveConfig(values, inv.source); // the same rules the engine applies, before a Python start-up
    checkModelFolders(config);
  }
  const engine = startTorchEngine((line) => progress.message(`[torch] ${line}`));
  let stopRequested = false;
  const onSignal = () => {
    if (stopRequested) {
      engine.kill(); // a second signal: leave now, the last checkpoint stands
      process.exit(130);
    }
    stopRequested = true;
    progress.message('stopping after this step (a checkpoint will be written); press Ctrl-C again to quit at once');
    // Before the run exists this stops nothing: it is sent again once run/start is answered (below).
    engine.request('run/stop', {}).catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let evals: CheckpointEvals | undefined;
  let tensorboard: LiveMetricsExport | undefined;
  let result: RunResult;
  const progressFile = new ProgressFileWriter(config?.output_dir);
  try {
    const hello = await engine.ready.catch((err: Error) => {
      throw new Error(`${err.message}\n(if the environment is missing or broken: npx dpo setup-torch)`);
    });
    progress.message(`torch engine on ${hello.device}${hello.devices?.length ? ` (${hello.devices.map((d) => d.name).join(', ')})` : ''}`);
    let lastMetrics: MetricsRecord | undefined;
    let lastEval: MetricsRecord | undefined;
    let firstEval: MetricsRecord | undefined;
    engine.onEvent((e) => {
      if (e.type === 'run/didProgress') progressFile.update(e.params.phase, e.params.done, e.params.total, e.params.message);
      if (e.type === 'run/didProgress' && !inv.quiet) progress.phase(e.params.phase, e.params.done, e.params.total, e.params.message);
      if (e.type === 'run/didLogMetrics') {
        const parsed = parseMetricsRecord(e.params.record);
        if (!parsed.ok) return progress.message(`engine sent a bad metrics record: ${parsed.error}`);
        const r = parsed.value;
        if (r.split === 'eval') {
          firstEval ??= r;
          lastEval = r;
        } else lastMetrics = r;
        progress.metrics(r);
        inv.onMetrics?.(r);
      }
      if (e.type === 'run/didWarn') progress.message(`warning (step ${e.params.step}): ${e.params.message}`);
      if (e.type === 'run/didLog' && !inv.quiet && /^(data|resumed|checkpoint)/.test(e.params.line)) progress.message(e.params.line);
    });
    const finished = engine.next('run/didFinish');
    const failed = engine.next('run/didFail');
    const exited = new Promise<EngineExit>((resolve) => (engine.exited ? resolve(engine.exited) : engine.onExit(resolve)));
    engine.onEvent((e) => e.type === 'run/didCheckpoint' && evals?.checkpoint(e.params.step, e.params.dir));
    const r = inv.resume
      ? await engine.request('run/resume', { runDir: path.resolve(inv.resume) })
      : await engine.request('run/start', { mode: inv.mode, config: config as unknown as Record<string, unknown> });
    if (!inv.quiet) progress.message(`run folder: ${r.runDir}`);
    progressFile.setRunDir(r.runDir);
    const runConfig =
      config ??
      (() => {
        const read = readRunConfig(r.runDir);
        return read.ok ? read.config : undefined;
      })();
    if (runConfig) evals = CheckpointEvals.forRun(r.runDir, runConfig, evalHooks(progress));
    if (runConfig) tensorboard = LiveMetricsExport.forRun(r.runDir, runConfig, evalHooks(progress));
    if (stopRequested) engine.request('run/stop', {}).catch(() => undefined); // a signal that came before the run existed
    const end = await Promise.race([finished, failed, exited.then((x) => ({ type: 'exit' as const, x }))]);
    if (end.type === 'exit')
      throw new Error(`the torch engine stopped during the run (${describeExit(end.x)}); resume with --resume ${r.runDir}. ${lastLinesText(end.x.lastLines)}`);
    if (end.type === 'run/didFail') throw new Error(end.params.message);
    const f = end.params;
    result = {
      runDir: f.runDir,
      reason: f.reason,
      step: f.step,
      totalSteps: f.totalSteps,
      finalDir: f.finalDir,
      lastMetrics,
      lastEval,
      firstEval,
    };
  } finally {
    progressFile.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    engine.closeInput();
  }
  await finishEvaluations(evals, result, progress);
  await tensorboard?.finish();
  return result;
}

function evalHooks(progress: ProgressLine) {
  return { log: (line: string) => progress.message(line) };
}

/**
 * Evaluate during training: the final model joins the queue, and the command waits for the queue (a
 * Ctrl-C leaves the evaluations not done yet; the run itself is complete either way).
 */
async function finishEvaluations(evals: CheckpointEvals | undefined, result: RunResult, progress: ProgressLine): Promise<void> {
  if (!evals) return;
  if (result.finalDir) evals.final(result.step, result.finalDir);
  if (evals.pending === 0) return;
  progress.message(`waiting for ${evals.pending} checkpoint evaluation(s); Ctrl-C skips them (the run is complete)`);
  const skip = () => evals.cancel();
  process.once('SIGINT', skip);
  try {
    await evals.drain();
  } finally {
    process.off('SIGINT', skip);
  }
}
