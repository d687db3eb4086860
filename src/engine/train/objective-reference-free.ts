// SimPO and ORPO on one batch of pairs, as TRL's CPOTrainer (loss_type "simpo") and ORPOTrainer
// compute them: no reference; rewards are β·mean log πθ(y|x); logps/* are per-token means. Not the
// losses themselves (dpo/losses.ts) nor the DPO family (objective.ts).
import * as tf from '@tensorflow/tfjs';
import { DpoConfig } from '../../protocol';
import { TokenizedPair } from '../data/tokenize';
import { SequenceBatch } from '../data/batch';
import { LOSSES, ReferenceFreeLossType } from '../dpo/losses';
import { logOddsRatio } from '../dpo/losses';
import { sequenceLogpsWithFullSums } from '../dpo/logps';
import { CausalLM } from '../model/transformer';
import type { ObjectiveTensors, PolicyForward } from './objective';

/**
 * ORPO's forward pass: the response sums, and for the chosen rows (the first n) the sum over every
 * real token after the first (prompt and response: TRL's ORPO NLL labels are the attention-masked
 * input ids). Rejected rows get no full sum.
 */
export function orpoForward(model: CausalLM, ids: tf.Tensor2D, mask: tf.Tensor2D, batch: SequenceBatch, pairs: TokenizedPair[]): PolicyForward {
  const full = new Float32Array(batch.rows * batch.length);
  pairs.forEach((p, r) => full.fill(1, r * batch.length, r * batch.length + p.promptIds.length + p.chosenIds.length));
  return sequenceLogpsWithFullSums(model, ids, mask, tf.tensor2d(full, [batch.rows, batch.length]));
}

/**
 * The NLL of a batch as TRL computes it (one cross-entropy, a token mean over ALL the batch's chosen
 * tokens), split into per-pair shares: pair i's share is −sum_i · n / T, so their mean is the
 * batch's NLL and the loss stays a sum of per-pair terms (the step's gradient and pairs.jsonl).
 */
function nllShares(chosenSums: tf.Tensor1D, tokens: number[]): tf.Tensor1D {
  const total = tokens.reduce((a, b) => a + b, 0);
  return tf.mul(tf.neg(chosenSums), tokens.length / Math.max(total, 1)) as tf.Tensor1D;
}

export function referenceFreeObjective(forward: PolicyForward, pairs: TokenizedPair[], c: DpoConfig): ObjectiveTensors {
  const { sums, logitSums } = forward;
  const n = pairs.length;
  const chosenTokens = pairs.map((p) => p.chosenIds.length);
  const counts = tf.tensor1d([...chosenTokens, ...pairs.map((p) => p.rejectedIds.length)]); // [2n]
  const means = tf.div(sums, counts) as tf.Tensor1D; // [2n], per-token mean log-probs
  const chosen = tf.slice(means, 0, n);
  const rejected = tf.slice(means, n, n);
  const zeros = tf.zeros([n]) as tf.Tensor1D;
  const logps = { policyChosenLogps: chosen, policyRejectedLogps: rejected, referenceChosenLogps: zeros, referenceRejectedLogps: zeros };
  const preference = LOSSES[c.loss_type as ReferenceFreeLossType](logps, { beta: c.beta, labelSmoothing: 0, simpoGamma: c.simpo_gamma });
  const rewards = { chosenRewards: tf.mul(chosen, c.beta) as tf.Tensor1D, rejectedRewards: tf.mul(rejected, c.beta) as tf.Tensor1D };
  if (c.loss_type === 'orpo') {
    if (!forward.fullSums) throw new Error('orpo: the forward pass has no full-sequence sums (policyForward)');
    // Every real token after a row's first is scored: prompt + chosen − 1 per chosen row.
    const shares = nllShares(
      tf.slice(forward.fullSums, 0, n),
      pairs.map((p) => p.promptIds.length + p.chosenIds.length - 1),
    );
    return { losses: tf.add(shares, preference) as tf.Tensor1D, logps: means, ...rewards, logitSums, nllShares: shares, logOdds: logOddsRatio(logps) };
  }
  // SimPO: CPO's NLL term on the chosen responses; TRL logs nll_loss 0 when cpo_alpha is 0.
  const shares = c.cpo_alpha > 0 ? nllShares(tf.slice(sums, 0, n), chosenTokens) : zeros;
  return { losses: tf.add(preference, tf.mul(shares, c.cpo_alpha)) as tf.Tensor1D, logps: means, ...rewards, logitSums, nllShares: shares };
}
