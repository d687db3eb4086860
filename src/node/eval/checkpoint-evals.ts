// Evaluate during training (checkpoint_eval_prompts > 0): each checkpoint, and the final model, gets a
// background `dpo eval` on the first N held-out prompts, written to <run>/eval/checkpoint-<step>/ (or
// eval/final/). One at a time, in the order the checkpoints came; the training never waits for it.
// Used by `dpo train` and the extension's run manager; the engines know nothing of it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendName, DpoConfig, EngineName, EvalSummary, RUN_EVAL_DIR } from '../../protocol';
import { EvalOptions, EvalProgress, runEval } from './run-eval';

export interface CheckpointEvalHooks {
  log(line: string): void;
  /** Called when an evaluation's summary.json is written (the metrics panel reads it). */
  onDone?(step: number, summary: EvalSummary, dir: string): void;
  onProgress?(step: number, p: EvalProgress): void;
  /** How the extension host starts the embedded engine. */
  embedded?: { enginePath?: string; nodePath?: string; backend?: BackendName };
  /** Seam for tests. */
  run?: typeof runEval;
}

interface Job {
  step: number;
  modelDir: string;
  name: string;
}

/** The evaluation folder of a checkpoint step (or of the final model). */
export function checkpointEvalDir(runDir: string, name: string): string {
  return path.join(runDir, RUN_EVAL_DIR, name);
}

export class CheckpointEvals {
  private readonly queue: Job[] = [];
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private off = false;

  private constructor(
    private readonly runDir: string,
    private readonly config: DpoConfig,
    private readonly hooks: CheckpointEvalHooks,
  ) {}

  /** An evaluator when the run asks for one (checkpoint_eval_prompts > 0), else undefined. */
  static forRun(runDir: string, config: DpoConfig, hooks: CheckpointEvalHooks): CheckpointEvals | undefined {
    return config.checkpoint_eval_prompts > 0 ? new CheckpointEvals(runDir, config, hooks) : undefined;
  }

  /** A checkpoint was written: evaluate it after those before it. */
  checkpoint(step: number, dir: string): void {
    this.enqueue({ step, modelDir: dir, name: `checkpoint-${step}` });
  }

  /** The run finished with a final model. */
  final(step: number, dir: string): void {
    this.enqueue({ step, modelDir: dir, name: 'final' });
  }

  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Resolves when every queued evaluation has ended (or was cancelled). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drops what is queued and cancels the evaluation in progress. */
  cancel(): void {
    this.queue.length = 0;
    this.abort.abort();
  }

  private enqueue(job: Job): void {
    if (this.off || this.abort.signal.aborted) return;
    // A resumed run that checkpoints a step again evaluates it again; the same step queued twice is evaluated once.
    if (this.queue.some((j) => j.name === job.name)) return;
    this.queue.push(job);
    this.kick();
  }

  /** Starts the worker unless it runs; a job queued while a finished worker was winding down starts the next one. */
  private kick(): void {
    if (this.running || this.queue.length === 0 || this.off) return;
    this.running = this.work().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  private async work(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      if (this.abort.signal.aborted) return;
      // save_total_limit may have pruned the checkpoint while it waited.
      if (!fs.existsSync(job.modelDir)) {
        this.hooks.log(`evaluation of ${job.name} skipped: ${job.modelDir} is gone (pruned by save_total_limit)`);
        continue;
      }
      const out = checkpointEvalDir(this.runDir, job.name);
      const c = this.config;
      const options: EvalOptions = {
        model: job.modelDir,
        reference: c.reference_model ?? c.model,
        samples: c.checkpoint_eval_samples,
        maxNewTokens: c.checkpoint_eval_max_new_tokens,
        seed: c.seed,
        temperature: 1,
        limit: c.checkpoint_eval_prompts,
        rewardModel: c.checkpoint_eval_reward_model ?? undefined,
        out,
        engine: c.engine as EngineName,
        embedded: this.hooks.embedded,
      };
      this.hooks.log(`evaluating ${job.name} (${c.checkpoint_eval_prompts} prompts × ${c.checkpoint_eval_samples} samples) into ${out}`);
      try {
        const summary = await (this.hooks.run ?? runEval)(options, {
          signal: this.abort.signal,
          log: (l) => this.hooks.log(`[eval ${job.name}] ${l}`),
          onProgress: (p) => this.hooks.onProgress?.(job.step, p),
        });
        this.hooks.log(
          `evaluated ${job.name}: KL ${summary.kl.toFixed(3)}${summary.win_rate !== undefined ? `, win rate ${summary.win_rate.toFixed(3)}` : ''}`,
        );
        this.hooks.onDone?.(job.step, summary, out);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        // The same cause (no held-out prompts, a broken reward model) would fail every checkpoint: say it once, stop.
        this.off = true;
        this.queue.length = 0;
        this.hooks.log(`evaluation of ${job.name} failed, so evaluating during training is off for this run: ${(err as Error).message}`);
        return;
      }
    }
  }
}
