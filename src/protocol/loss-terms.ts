// Combined DPO losses: `loss_type` as a list with `loss_weights`, as TRL's DPOTrainer takes them
// (loss = Σ weight · mean of the member's per-pair loss), and the deprecated `sft_weight` alias.
// Pure data and rules shared by the config check, both engines' callers and the panels; no math here.
import type { DpoConfig } from './config';

/** Members a loss list may hold: DPOTrainer's losses that both engines compute. */
export const LOSS_MEMBERS = ['sigmoid', 'ipo', 'hinge', 'bco_pair', 'sft'] as const;
export type LossMember = (typeof LOSS_MEMBERS)[number];

/** The list form in loss_type's description (config.ts). */
export const LOSS_LIST_DESCRIPTION = `A list combines DPOTrainer's losses with loss_weights: ["sigmoid","sft"] is RPO (arXiv:2404.19733), ["sigmoid","bco_pair","sft"] MPO; members: ${LOSS_MEMBERS.join(', ')} ("sft": the NLL of the chosen responses, averaged over all their tokens in a batch; "bco_pair": −log σ(β·chosen log-ratio) − log σ(−β·rejected log-ratio)).`;

export interface LossTerm {
  type: LossMember;
  weight: number;
}

type LossFields = Pick<DpoConfig, 'loss_type' | 'loss_weights' | 'sft_weight'>;

const isMember = (x: unknown): x is LossMember => typeof x === 'string' && (LOSS_MEMBERS as readonly string[]).includes(x);

/**
 * The weighted terms of a DPO objective. A single loss_type is one term of weight 1 (or
 * loss_weights[0]); sft_weight w > 0 is the old spelling of [loss_type, "sft"] with weights [1, w].
 * Call on a config that lossTermProblems accepted.
 */
export function lossTerms(c: LossFields): LossTerm[] {
  const types = (Array.isArray(c.loss_type) ? c.loss_type : [c.loss_type]) as LossMember[];
  const weights = c.loss_weights ?? types.map(() => 1);
  const terms = types.map((type, i) => ({ type, weight: weights[i] }));
  if (c.sft_weight > 0 && !types.includes('sft')) terms.push({ type: 'sft', weight: c.sft_weight });
  return terms;
}

/** The objective as one word for titles and logs: "sigmoid", "sigmoid+sft". */
export function lossTypeLabel(lossType: DpoConfig['loss_type']): string {
  return Array.isArray(lossType) ? lossType.join('+') : String(lossType);
}

/** Whether a term of the objective is `type` (a single loss_type or a list member). */
export function hasLossMember(lossType: DpoConfig['loss_type'], type: string): boolean {
  return Array.isArray(lossType) ? (lossType as string[]).includes(type) : lossType === type;
}

/** Rules across loss_type, loss_weights and sft_weight (each field already valid on its own). */
export function lossTermProblems(c: LossFields): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const list = Array.isArray(c.loss_type);
  if (list) {
    const bad = (c.loss_type as unknown[]).filter((t) => !isMember(t));
    if (bad.length > 0)
      out.push({
        field: 'loss_type',
        message: `a loss list may hold only ${LOSS_MEMBERS.map((m) => `"${m}"`).join(', ')} (DPOTrainer's losses); got ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
      });
  }
  const n = list ? (c.loss_type as unknown[]).length : 1;
  if (c.loss_weights !== null && c.loss_weights.length !== n)
    out.push({
      field: 'loss_weights',
      message: `has ${c.loss_weights.length} weight(s) for ${n} loss type(s) (${lossTypeLabel(c.loss_type)}): give one weight per loss_type entry, in the same order`,
    });
  if (c.sft_weight > 0 && !list && !isMember(c.loss_type))
    out.push({ field: 'sft_weight', message: `adds DPOTrainer's "sft" term; loss_type "${String(c.loss_type)}" takes none: remove sft_weight` });
  if (c.sft_weight > 0 && list)
    out.push({
      field: 'sft_weight',
      message: `is the deprecated spelling of ["sigmoid","sft"] with loss_weights [1, ${c.sft_weight}]; with a loss_type list, add "sft" to the list and its weight to loss_weights instead`,
    });
  return out;
}
