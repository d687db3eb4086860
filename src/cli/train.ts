// `dpo train` and `dpo sft`: the trainer with a terminal view. Stops gracefully on Ctrl-C (the step
// finishes, a checkpoint is written) and resumes with --resume.
import * as path from 'node:path';
import { BackendName, DpoConfig, MetricsRecord, TrainingMode, resolveConfig, timeStamp } from '../protocol';
import { describeBackend, selectBackend } from '../engine/backend';
import { RunResult, Trainer } from '../engine/train/trainer';
import { ProgressLine } from './progress';

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

export async function runTraining(inv: TrainInvocation): Promise<RunResult> {
  const progress = new ProgressLine();
  const resolve = (raw: Record<string, unknown>) => resolveConfig(raw, inv.source);
  let config: DpoConfig | undefined;
  if (!inv.resume) {
    const values: Record<string, unknown> = { ...inv.values, mode: inv.mode };
    if (!values.output_dir) values.output_dir = defaultRunDir(process.cwd(), inv.mode);
    config = resolve(values);
  }
  const backend = await selectBackend((inv.values.backend ?? undefined) as BackendName | undefined);
  progress.message(describeBackend(backend));
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130); // a second Ctrl-C: leave now, the last checkpoint stands
    stopRequested = true;
    progress.message('stopping after this step (a checkpoint will be written); press Ctrl-C again to quit at once');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint); // a service manager's or `kill`'s stop: the same graceful stop as Ctrl-C
  try {
    const options = {
      backend,
      shouldStop: () => stopRequested,
      events: {
        onProgress: (phase: Parameters<ProgressLine['phase']>[0], done: number, total: number, message?: string) => !inv.quiet && progress.phase(phase, done, total, message),
        onMetrics: (m: MetricsRecord) => {
          progress.metrics(m);
          inv.onMetrics?.(m);
        },
        onWarning: (w: { message: string; step: number }) => progress.message(`warning (step ${w.step}): ${w.message}`),
        onLog: (line: string) => !inv.quiet && /^(data|policy|steps|reference|resumed|stopped|done)/.test(line) && progress.message(line),
      },
    };
    const trainer = inv.resume ? Trainer.resume(path.resolve(inv.resume), options, resolve) : Trainer.create(config!, options);
    if (!inv.quiet) progress.message(`run folder: ${trainer.config.output_dir}`);
    return await trainer.run();
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
