// What a KTO batch needs before its gradient pass, as TRL's KTOTrainer computes it: the reference
// log-probs of its completions, and the KL reference point z_ref from the policy and the reference
// on its mismatched (KL) completions, all without gradient (TRL's torch.no_grad and .detach()).
import { MetricsSplit } from '../../protocol';
import { CausalLM } from '../model/transformer';
import { TokenizedPair } from '../data/tokenize';
import { collate, collatePairs } from '../data/batch';
import { computeSequenceLogps } from '../dpo/logps';
import { klReferencePoint } from '../dpo/kto-loss';
import { ReferenceLogps } from './reference';

export interface KtoBatchInputs {
  /** Summed reference log-probs of the examples' completions [n]. */
  reference: number[];
  /** z_ref of the batch. */
  kl: number;
}

export async function ktoBatchInputs(
  policy: CausalLM,
  reference: ReferenceLogps,
  examples: TokenizedPair[],
  split: MetricsSplit,
  padId: number,
): Promise<KtoBatchInputs> {
  const n = examples.length;
  // Completion rows then KL rows: one reference pass for both (chosenIds/rejectedIds, kto-data.ts).
  const refAll = await reference.forBatch(examples, split, collatePairs(examples, padId), 'kto');
  const klRows = collate(
    examples.map((e) => ({ promptIds: e.promptIds, responseIds: e.rejectedIds })),
    padId,
  );
  const policyKl = await computeSequenceLogps(policy, klRows);
  return { reference: refAll.slice(0, n), kl: klReferencePoint(policyKl, refAll.slice(n)) };
}
