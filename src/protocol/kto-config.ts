// The run-config rules of mode "kto" (KTO, arXiv:2402.01306, as TRL's KTOTrainer runs it), across
// fields, applied by resolveConfig once every field is valid on its own. Not the fields themselves:
// those are in config.ts with the rest.
import type { ConfigProblem, DpoConfig } from './config';

/** KTO's weights only in mode "kto"; the DPO-only loss fields refused there; TRL's batch rule. */
export function ktoProblems(c: DpoConfig, defaults: DpoConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const isDefault = (f: keyof DpoConfig) => JSON.stringify(c[f]) === JSON.stringify(defaults[f]);
  if (c.mode !== 'kto') {
    for (const f of ['desirable_weight', 'undesirable_weight'] as const)
      if (!isDefault(f)) out.push({ field: f, message: `applies to mode "kto" only (got mode "${c.mode}")` });
    return out;
  }
  for (const f of ['loss_type', 'label_smoothing', 'reference_free', 'sft_weight'] as const)
    if (!isDefault(f))
      out.push({ field: f, message: `does not apply to mode "kto" (its loss is KTO's); remove it or set it to ${JSON.stringify(defaults[f])}` });
  // TRL's KTOTrainer refuses it too: with one line per batch the KL estimate is that line's own log-ratio.
  if (c.batch_size < 2)
    out.push({
      field: 'batch_size',
      message: 'mode "kto" needs at least 2 lines per batch: its KL reference point comes from mismatched lines of the same batch',
    });
  if (c.engine === 'tfjs' && c.precompute_ref_log_probs)
    out.push({
      field: 'precompute_ref_log_probs',
      message:
        'mode "kto" on the tfjs engine computes the reference live (a paired file puts each line in two examples); set it to false, or use the torch engine',
    });
  return out;
}
