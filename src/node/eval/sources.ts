// What `dpo eval` compares: the policy folder (a model, a run's final model or newest checkpoint, or a
// checkpoint), its reference (given, or the run's reference_model, else the run's base model) and the
// run's config when there is one. Reads folders; loads nothing.
import * as path from 'node:path';
import { DpoConfig, EngineName, RUN_FILES, StatusRecord } from '../../protocol';
import { readRunConfig, readRunRecords } from '../run-folder';
import { resolveServedModel } from '../serve/model-folder';

export interface EvalSources {
  policyDir: string;
  referenceDir: string;
  runDir?: string;
  /** The checkpoint's step when the policy is checkpoints/step-N; for a run's final model, the step the run completed at. */
  step?: number;
  config?: DpoConfig;
  /** The engine the run trained on, when it says. */
  runEngine?: EngineName;
}

export function resolveEvalSources(model: string, reference?: string): EvalSources {
  const served = resolveServedModel(model);
  const stepMatch = /^step-(\d+)$/.exec(path.basename(served.modelDir));
  const step = stepMatch && path.basename(path.dirname(served.modelDir)) === RUN_FILES.checkpoints ? Number(stepMatch[1]) : undefined;
  let config: DpoConfig | undefined;
  if (served.runDir) {
    const c = readRunConfig(served.runDir);
    if (!c.ok && !reference) throw new Error(`${c.error}; give the reference model with --reference <dir>`);
    if (c.ok) config = c.config;
  }
  // A run's final model: the step of its "completed" status record (the metrics panel charts evaluations against step).
  const finalStep =
    step === undefined && served.runDir && path.basename(served.modelDir) === RUN_FILES.final
      ? readRunRecords(served.runDir)
          .records.filter((r): r is StatusRecord => r.kind === 'status' && r.status === 'completed')
          .pop()?.step
      : undefined;
  const referenceDir = reference ? path.resolve(reference) : config ? path.resolve(config.reference_model ?? config.model) : undefined;
  if (!referenceDir) throw new Error(`${served.modelDir} is a model folder, not a run: give the reference model with --reference <dir>`);
  return {
    policyDir: served.modelDir,
    referenceDir,
    ...(served.runDir ? { runDir: served.runDir } : {}),
    ...((step ?? finalStep) !== undefined ? { step: step ?? finalStep } : {}),
    ...(config ? { config } : {}),
    ...(served.runEngine ? { runEngine: served.runEngine } : {}),
  };
}
