// The objective on one batch of pairs, shared by the training step (inside variableGrads) and by
// evaluation (inside tidy), so train and eval metrics come from the same numbers: per-pair losses,
// implicit rewards, and the log-probs the loss saw. SFT (the reference-making mode) is the NLL of
// the chosen response; DPO sums the weighted terms of its loss list (TRL's loss_type list), where "sft"
// is that NLL averaged over every chosen token of the batch, as TRL computes it.
import * as tf from '@tensorflow/tfjs';
import { DpoConfig, lossTerms } from '../../protocol';
import { TokenizedPair } from '../data/tokenize';
import { SequenceBatch, collate, collatePairs } from '../data/batch';
import { PairLogps, USES_MEAN_LOGPS, implicitRewards, preferenceLoss } from '../dpo/losses';
import { PairValues } from './pair-values';

// A type, not an interface: tf.tidy returns it as a tensor container.
export type ObjectiveTensors = {
  /** Per-pair losses [n]. */
  losses: tf.Tensor1D;
  /** Summed response log-probs (TRL's logps/*, for IPO too): [2n] chosen then rejected, [n] for SFT. */
  logps: tf.Tensor1D;
  chosenRewards: tf.Tensor1D;
  rejectedRewards: tf.Tensor1D;
  /** The summed vocabulary-mean logits of pairBatch's rows over their response positions [rows] (TRL's logits/*). */
  logitSums: tf.Tensor1D;
};

/** The sequences of a batch: chosen then rejected (one forward pass, as the paper's code), or chosen only for SFT. */
export function pairBatch(pairs: TokenizedPair[], mode: DpoConfig['mode'], padId: number): SequenceBatch {
  return mode === 'sft'
    ? collate(
        pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.chosenIds })),
        padId,
      )
    : collatePairs(pairs, padId);
}

/**
 * `forward` holds the policy's summed response log-probs of pairBatch's rows and their summed logit
 * means (sequenceLogpsAndLogits); `referenceSums` the reference's log-probs, in the same order ([] for
 * SFT, zeros for reference-free DPO).
 */
export function objective(
  forward: { sums: tf.Tensor1D; logitSums: tf.Tensor1D },
  referenceSums: number[],
  pairs: TokenizedPair[],
  c: DpoConfig,
): ObjectiveTensors {
  const { sums, logitSums } = forward;
  const n = pairs.length;
  const chosenTokens = pairs.map((p) => p.chosenIds.length);
  if (c.mode === 'sft') {
    const nll = tf.neg(tf.div(sums, tf.tensor1d(chosenTokens))) as tf.Tensor1D; // [n], token-averaged
    return { losses: nll, logps: sums, chosenRewards: tf.zeros([n]), rejectedRewards: tf.zeros([n]), logitSums };
  }
  const counts = tf.tensor1d([...chosenTokens, ...pairs.map((p) => p.rejectedIds.length)]); // [2n]
  const refSums = tf.tensor1d(referenceSums); // [2n]
  const halves = (policy: tf.Tensor1D, ref: tf.Tensor1D): PairLogps => ({
    policyChosenLogps: tf.slice(policy, 0, n),
    policyRejectedLogps: tf.slice(policy, n, n),
    referenceChosenLogps: tf.slice(ref, 0, n),
    referenceRejectedLogps: tf.slice(ref, n, n),
  });
  const summed = halves(sums, refSums);
  const params = { beta: c.beta, labelSmoothing: c.label_smoothing };
  let losses = tf.zeros([n]) as tf.Tensor1D;
  for (const { type, weight } of lossTerms(c)) {
    if (weight === 0) continue; // a zero weight adds nothing, not even a NaN
    let term: tf.Tensor1D;
    if (type === 'sft') {
      // TRL: cross-entropy over all chosen tokens of the batch, one scalar given to every pair (its mean is the term).
      const nll = tf.neg(tf.div(tf.sum(tf.slice(sums, 0, n)), tf.sum(tf.slice(counts, 0, n)))); // []
      term = tf.mul(tf.ones([n]), nll) as tf.Tensor1D;
    } else if (USES_MEAN_LOGPS[type]) {
      term = preferenceLoss(type, halves(tf.div(sums, counts) as tf.Tensor1D, tf.div(refSums, counts) as tf.Tensor1D), params).losses;
    } else term = preferenceLoss(type, summed, params).losses;
    losses = tf.add(losses, tf.mul(term, weight)) as tf.Tensor1D;
  }
  // Rewards and logps/* are of the summed log-probs for every member, as TRL's (IPO's loss alone reads means).
  return {
    losses,
    logps: sums,
    chosenRewards: implicitRewards(summed.policyChosenLogps, summed.referenceChosenLogps, c.beta),
    rejectedRewards: implicitRewards(summed.policyRejectedLogps, summed.referenceRejectedLogps, c.beta),
    logitSums,
  };
}

/** Reads an objective's tensors into per-pair values, and disposes them. */
export async function readValues(t: ObjectiveTensors, pairs: TokenizedPair[], tokens: number): Promise<PairValues> {
  const n = pairs.length;
  try {
    const tensors = [t.losses, t.logps, t.chosenRewards, t.rejectedRewards, t.logitSums];
    const [losses, logps, chosenRewards, rejectedRewards, logitSums] = await Promise.all(tensors.map(async (x) => Array.from(await x.data())));
    // SFT rows are the chosen responses only: no rejected side, so no logits/* pair (TRL's SFT logs none).
    const pairRows = logps.length === 2 * n;
    return {
      lines: pairs.map((p) => p.line),
      losses,
      chosenLogps: logps.slice(0, n),
      rejectedLogps: logps.slice(n, 2 * n),
      chosenRewards,
      rejectedRewards,
      tokens,
      chosenLogitSums: pairRows ? logitSums.slice(0, n) : [],
      rejectedLogitSums: pairRows ? logitSums.slice(n, 2 * n) : [],
      chosenTokens: pairRows ? pairs.map((p) => p.chosenIds.length) : [],
      rejectedTokens: pairRows ? pairs.map((p) => p.rejectedIds.length) : [],
    };
  } finally {
    tf.dispose([t.losses, t.logps, t.chosenRewards, t.rejectedRewards, t.logitSums]);
  }
}
