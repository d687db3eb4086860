// Several evaluations one after another (the models picked in "DPO: Evaluate Model"), each a
// runEval into its own folder, with the progress text (phase, done/total, ETA from the rate so far)
// and a cancel that aborts the running one and skips the rest. No vscode import: the command wraps
// this in withProgress, and the unit tests drive it with a stand-in runEval.
import { EngineName, EvalSummary, formatDuration } from '../protocol';
import type { EvalHooks, EvalOptions, EvalProgress } from '../node/eval/run-eval';

export interface EvalJob {
  /** The policy folder (a run's final model or checkpoint, or any model folder). */
  model: string;
  out: string;
  /** How the progress and the report name it ("run-a final", "run-a checkpoint-50"). */
  label: string;
  engine: EngineName;
  /** The run's reference, when the model came from a run. */
  reference?: string;
  /** From a run: without a prompts file, runEval uses the run's eval split. */
  fromRun: boolean;
}

/** What every job shares: the options apart from the model, its reference, prompts, folder and engine. */
export type SharedEvalOptions = Omit<EvalOptions, 'model' | 'reference' | 'out' | 'engine'>;

export interface QueueHooks {
  /** `fraction`: of all jobs, 0…1. */
  onProgress?(text: string, fraction: number): void;
  log?(line: string): void;
  signal?: AbortSignal;
  now?(): number;
}

export interface QueueResult {
  done: { job: EvalJob; summary: EvalSummary }[];
  failed: { job: EvalJob; error: string }[];
  cancelled: boolean;
}

/** "sampling 12/40 · ETA 1m05s": the remaining work at the rate since the phase began (none before the first item is done). */
export function progressText(p: EvalProgress, phaseStartedMs: number, nowMs: number): string {
  const count = p.total > 0 ? ` ${p.done}/${p.total}` : '';
  const elapsed = (nowMs - phaseStartedMs) / 1000;
  const eta = p.done > 0 && p.total > p.done && elapsed > 0 ? ` · ETA ${formatDuration(((p.total - p.done) * elapsed) / p.done)}` : '';
  return `${p.phase}${count}${eta}${p.message ? ` · ${p.message}` : ''}`;
}

/** A judge key must never reach a log: any line holding it is masked before it is passed on. */
export function redact(line: string, secret: string | undefined): string {
  return secret ? line.split(secret).join('***') : line;
}

export async function runEvalJobs(
  jobs: EvalJob[],
  shared: SharedEvalOptions,
  runEval: (o: EvalOptions, h: EvalHooks) => Promise<EvalSummary>,
  hooks: QueueHooks = {},
): Promise<QueueResult> {
  const now = hooks.now ?? Date.now;
  const result: QueueResult = { done: [], failed: [], cancelled: false };
  const secret = shared.judge?.apiKey;
  const log = (line: string) => hooks.log?.(redact(line, secret));
  for (const [i, job] of jobs.entries()) {
    if (hooks.signal?.aborted) {
      result.cancelled = true;
      break;
    }
    let phase = '';
    // A phase's clock starts when the one before it last reported (or the job started), not at its own first report.
    let phaseStarted = now();
    let lastReport = phaseStarted;
    const prefix = jobs.length > 1 ? `${i + 1}/${jobs.length} ${job.label}: ` : `${job.label}: `;
    hooks.onProgress?.(`${prefix}starting`, i / jobs.length);
    const options: EvalOptions = { ...shared, model: job.model, out: job.out, engine: job.engine, reference: job.reference };
    try {
      const summary = await runEval(options, {
        signal: hooks.signal,
        log,
        onProgress: (p) => {
          if (p.phase !== phase) {
            phase = p.phase;
            phaseStarted = lastReport;
          }
          lastReport = now();
          const within = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
          hooks.onProgress?.(prefix + progressText(p, phaseStarted, now()), (i + within) / jobs.length);
        },
      });
      result.done.push({ job, summary });
      log(`evaluated ${job.label} into ${job.out}`);
    } catch (err) {
      if (hooks.signal?.aborted) {
        result.cancelled = true;
        log(`cancelled the evaluation of ${job.label}`);
        break;
      }
      const error = redact((err as Error).message, secret);
      result.failed.push({ job, error });
      log(`evaluation of ${job.label} failed: ${error}`);
    }
  }
  return result;
}
