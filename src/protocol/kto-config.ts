// The run-config rules of mode "kto" (KTO, arXiv:2402.01306, as TRL's KTOTrainer runs it), across
// fields, applied by resolveConfig once every field is valid on its own, and its two fields, which
// CONFIG_FIELDS spreads in (split from config.ts to keep it under 400 lines).
import type { ConfigProblem, DpoConfig } from './config';

/** KTO's weights, with TRL's KTOConfig names. */
export const KTO_FIELDS = {
  desirable_weight: {
    type: 'number',
    minimum: 0,
    default: 1,
    description:
      'mode "kto" only: weight λ_D of the losses of desirable lines (label true), to balance unequal numbers of desirable and undesirable lines (TRL\'s KTOConfig).',
  },
  undesirable_weight: {
    type: 'number',
    minimum: 0,
    default: 1,
    description: 'mode "kto" only: weight λ_U of the losses of undesirable lines (label false) (TRL\'s KTOConfig).',
  },
} as const;

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
