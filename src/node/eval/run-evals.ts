// A run's evaluations (<run>/eval/<name>/summary.json) read back: for the metrics panel, which shows
// the checkpoint evaluations as eval points (KL, win rate, reward against step), and for the
// Evaluate panel. Unreadable or half-written summaries are skipped (a summary is written atomically,
// so a half-written one is another program's).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVAL_FILES, EVAL_PREFIX, EvalSummary, MetricsRecord, RUN_EVAL_DIR, parseEvalSummary } from '../../protocol';

export interface RunEvaluation {
  /** The folder's name under eval/: final, checkpoint-<step>, or what the user chose. */
  name: string;
  dir: string;
  /** The training step of the evaluated model, when known. */
  step?: number;
  summary: EvalSummary;
  /** summary.json's modification time (ms), to notice a re-run. */
  mtimeMs: number;
}

/** The run's evaluations, in step order (those without a step last, by name). */
export function readRunEvaluations(runDir: string): RunEvaluation[] {
  const root = path.join(runDir, RUN_EVAL_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const out: RunEvaluation[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    const file = path.join(dir, EVAL_FILES.summary);
    try {
      const mtimeMs = fs.statSync(file).mtimeMs;
      const parsed = parseEvalSummary(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (!parsed.ok) continue;
      const summary = parsed.value;
      const fromName = /^checkpoint-(\d+)$/.exec(name);
      const step = Number.isInteger(summary.step) ? summary.step : fromName ? Number(fromName[1]) : undefined;
      out.push({ name, dir, step, summary, mtimeMs });
    } catch {
      continue;
    }
  }
  return out.sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity) || a.name.localeCompare(b.name));
}

/**
 * An evaluation as an eval metrics record of its step (values under eval_gen/*), so the metrics
 * panel draws it with the run's other evaluations. Undefined without a step.
 */
export function evaluationRecord(e: RunEvaluation): MetricsRecord | undefined {
  if (e.step === undefined) return undefined;
  const s = e.summary;
  const values: Record<string, number> = { [`${EVAL_PREFIX}gen/kl`]: s.kl };
  if (typeof s.win_rate === 'number') values[`${EVAL_PREFIX}gen/win_rate`] = s.win_rate;
  const policy = s.models?.policy?.mean_reward;
  const reference = s.models?.reference?.mean_reward;
  if (typeof policy === 'number') values[`${EVAL_PREFIX}gen/reward_policy`] = policy;
  if (typeof reference === 'number') values[`${EVAL_PREFIX}gen/reward_reference`] = reference;
  for (const [k, v] of Object.entries(values)) if (!Number.isFinite(v)) delete values[k];
  return { kind: 'metrics', split: 'eval', step: e.step, epoch: 0, values };
}
