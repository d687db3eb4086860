// Rules of the objectives without a reference model (SimPO, ORPO): which loss types they are and
// which fields they refuse. Split from config.ts (which calls objectiveProblems from resolveConfig);
// types only are imported back, so there is no runtime cycle.
import type { ConfigProblem, DpoConfig, LossType } from './config';

/** Objectives without a reference model: no reference is loaded or cached, rewards are β·mean log πθ(y|x). */
export const REFERENCE_FREE_LOSSES: readonly LossType[] = ['simpo', 'orpo'];
/** A loss list (issue #27's combined losses) is never reference-free: its members are DPOTrainer's. */
export const isReferenceFreeLoss = (t: LossType | readonly string[]): boolean => typeof t === 'string' && REFERENCE_FREE_LOSSES.includes(t);

/** The SimPO fields, with TRL's CPOConfig names; CONFIG_FIELDS spreads them in. */
export const OBJECTIVE_FIELDS = {
  simpo_gamma: {
    type: 'number',
    minimum: 0,
    default: 0.5,
    description:
      "loss_type simpo only: γ, SimPO's target reward margin; the loss is -log σ(β·Δ - γ) with Δ the mean log-prob margin (TRL's simpo_gamma, default 0.5).",
  },
  cpo_alpha: {
    type: 'number',
    minimum: 0,
    default: 0,
    description:
      "loss_type simpo only: weight of CPO's NLL term on the chosen responses (token mean over the batch's chosen tokens, TRL's cpo_alpha). 0 is plain SimPO (TRL's own default is 1.0, CPO-SimPO).",
  },
};

/**
 * SimPO and ORPO fields used with another objective, and reference fields with a reference-free one
 * (nothing would read them: a silent no-op is refused). The torch engine's schemas.py has the same
 * rule; test/conformance/config holds both to it.
 */
export function objectiveProblems(c: DpoConfig, defaults: DpoConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (c.mode !== 'dpo') return out;
  for (const field of ['simpo_gamma', 'cpo_alpha'] as const)
    if (c.loss_type !== 'simpo' && c[field] !== defaults[field])
      out.push({ field, message: `applies to loss_type "simpo" only (got "${c.loss_type}"): remove it or set loss_type to "simpo"` });
  if (!isReferenceFreeLoss(c.loss_type)) return out;
  const unused: [keyof DpoConfig, string][] = [
    ['reference_model', 'it has no reference model'],
    ['precompute_ref_log_probs', 'it has no reference log-probs to cache'],
    ['reference_free', 'it is reference-free already'],
    ['sft_weight', c.loss_type === 'simpo' ? 'its NLL term is cpo_alpha' : 'ORPO has its own NLL term'],
  ];
  for (const [field, why] of unused)
    if (JSON.stringify(c[field]) !== JSON.stringify(defaults[field]))
      out.push({ field, message: `loss_type "${c.loss_type}" does not use it (${why}): remove it` });
  return out;
}
