// `dpo eval` as a function, for the CLI and the extension host (placeholder until the eval slice lands):
// sample answers from the policy and the reference, score and judge them, write results.jsonl and
// summary.json into `out`.
import { BackendName, EngineName, EvalSummary } from '../../protocol';
import { LlmJudgeOptions } from './judge';

export interface EvalOptions {
  /** The policy: a model folder, a run folder (its final model) or a checkpoint. */
  model: string;
  /** The reference model folder; default: the run's reference (or the policy's base model). */
  reference?: string;
  /** A JSONL of prompts; default: the run's eval split. */
  prompts?: string;
  samples: number;
  maxNewTokens: number;
  seed: number;
  temperature: number;
  rewardModel?: string;
  /** Another DPO run whose implicit reward judges the answers (reported as not independent). */
  implicitRun?: string;
  judge?: LlmJudgeOptions;
  /** Use only the first N prompts. */
  limit?: number;
  out: string;
  engine?: EngineName;
  /** How the extension host starts the embedded engine (its bundle and Node). */
  embedded?: { enginePath?: string; nodePath?: string; backend?: BackendName };
}

export interface EvalProgress {
  phase: 'loading' | 'sampling' | 'scoring' | 'judging' | 'writing';
  done: number;
  total: number;
  message?: string;
}

export interface EvalHooks {
  onProgress?(p: EvalProgress): void;
  log?(line: string): void;
  signal?: AbortSignal;
}

export async function runEval(options: EvalOptions, hooks: EvalHooks = {}): Promise<EvalSummary> {
  void hooks;
  throw new Error(`dpo eval of ${options.model}: not implemented yet`);
}
