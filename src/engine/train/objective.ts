// The objective on one batch of pairs, shared by the training step (inside variableGrads) and by
// evaluation (inside tidy), so train and eval metrics come from the same numbers: per-pair losses,
// implicit rewards, and the log-probs the loss saw. SFT (the reference-making mode) is the NLL of
// the chosen response; DPO sums the weighted terms of its loss list (TRL's loss_type list), where "sft"
// is that NLL averaged over every chosen token of the batch, as TRL computes it. SimPO and ORPO (no
// reference) are in objective-reference-free.ts.
import * as tf from '@tensorflow/tfjs';
import { DpoConfig, isReferenceFreeLoss, lossTerms } from '../../protocol';
import { TokenizedPair } from '../data/tokenize';
import { SequenceBatch, collate, collatePairs } from '../data/batch';
import { PairLogps, USES_MEAN_LOGPS, implicitRewards, preferenceLoss } from '../dpo/losses';
import { batchTensors, sequenceLogpsAndLogits } from '../dpo/logps';
import { CausalLM } from '../model/transformer';
import { PairValues } from './pair-values';
import { orpoForward, referenceFreeObjective } from './objective-reference-free';
import { ktoLosses } from '../dpo/kto-loss';

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
  /** SimPO and ORPO: each pair's share of the batch's NLL term (TRL's nll_loss is their mean) [n]. */
  nllShares?: tf.Tensor1D;
  /** ORPO: log odds(yw) − log odds(yl) per pair [n] (TRL's log_odds_chosen is their mean). */
  logOdds?: tf.Tensor1D;
};

/** The policy's forward pass over pairBatch's rows: response sums and logit sums, and for ORPO the chosen rows' full-sequence sums. */
export type PolicyForward = { sums: tf.Tensor1D; logitSums: tf.Tensor1D; fullSums?: tf.Tensor1D };

/** Runs the policy over a batch, inside the caller's tidy or variableGrads. */
export function policyForward(model: CausalLM, batch: SequenceBatch, pairs: TokenizedPair[], c: DpoConfig): PolicyForward {
  const { ids, mask } = batchTensors(batch);
  if (c.mode === 'dpo' && c.loss_type === 'orpo') return orpoForward(model, ids, mask, batch, pairs);
  return sequenceLogpsAndLogits(model, ids, mask);
}

/** The sequences of a batch: chosen then rejected (one forward pass, as the paper's code), or chosen only for SFT. */
export function pairBatch(pairs: TokenizedPair[], mode: DpoConfig['mode'], padId: number): SequenceBatch {
  // KTO: each example's completion; its KL completion is scored apart, without gradient (kto-step.ts).
  return mode === 'sft' || mode === 'kto'
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
  forward: PolicyForward,
  referenceSums: number[],
  pairs: TokenizedPair[],
  c: DpoConfig,
  /** Mode "kto": the batch's KL reference point z_ref (kto-step.ts). */
  kl = 0,
): ObjectiveTensors {
  const { sums, logitSums } = forward;
  const n = pairs.length;
  const chosenTokens = pairs.map((p) => p.chosenIds.length);
  if (c.mode === 'kto') {
    const ref = tf.tensor1d(referenceSums); // [n], the completions' reference log-probs
    const params = { beta: c.beta, desirableWeight: c.desirable_weight, undesirableWeight: c.undesirable_weight };
    const losses = ktoLosses(
      sums,
      ref,
      pairs.map((p) => p.label === true),
      kl,
      params,
    );
    // Every example's reward β·(log πθ − log πref) in chosenRewards; readValues sorts them by label.
    return { losses, logps: sums, chosenRewards: implicitRewards(sums, ref, c.beta), rejectedRewards: tf.zeros([n]), logitSums };
  }
  if (c.mode === 'sft') {
    const nll = tf.neg(tf.div(sums, tf.tensor1d(chosenTokens))) as tf.Tensor1D; // [n], token-averaged
    return { losses: nll, logps: sums, chosenRewards: tf.zeros([n]), rejectedRewards: tf.zeros([n]), logitSums };
  }
  if (isReferenceFreeLoss(c.loss_type)) return referenceFreeObjective(forward, pairs, c);
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

/** Reads an objective's tensors into per-pair values, and disposes them. `kto`: mode "kto"'s z_ref of the batch, and β. */
export async function readValues(t: ObjectiveTensors, pairs: TokenizedPair[], tokens: number, kto?: { kl: number; beta: number }): Promise<PairValues> {
  const n = pairs.length;
  try {
    const tensors = [t.losses, t.logps, t.chosenRewards, t.rejectedRewards, t.logitSums, t.nllShares, t.logOdds];
    const [losses, logps, chosenRewards, rejectedRewards, logitSums, nllShares, logOdds] = await Promise.all(
      tensors.map(async (x) => (x ? Array.from(await x.data()) : [])),
    );
    if (kto) return ktoValues(pairs, kto, { losses, logps, rewards: chosenRewards, logitSums }, tokens);
    // SFT rows are the chosen responses only: no rejected side, so no logits/* pair (TRL's SFT logs none).
    // SimPO/ORPO log none either: TRL's CPO/ORPO logits/* average over padding too (a number of the batch's shape).
    const pairRows = logps.length === 2 * n && !t.nllShares;
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
      nllShares,
      logOdds,
      labels: [],
      kls: [],
    };
  } finally {
    tf.dispose([t.losses, t.logps, t.chosenRewards, t.rejectedRewards, t.logitSums, t.nllShares ?? [], t.logOdds ?? []]);
  }
}

/**
 * KTO's per-example values, each on its label's side (desirable: chosen*, undesirable: rejected*);
 * the other side's reward is β·z_ref, the point the example's reward is judged against, and its
 * log-prob, logits and tokens are 0, so window sums per side are TRL's per-label metrics.
 */
function ktoValues(
  pairs: TokenizedPair[],
  kto: { kl: number; beta: number },
  v: { losses: number[]; logps: number[]; rewards: number[]; logitSums: number[] },
  tokens: number,
): PairValues {
  const good = pairs.map((p) => p.label === true);
  const zeros = pairs.map(() => 0);
  const point = pairs.map(() => kto.beta * kto.kl);
  const side = (want: boolean, x: number[], other: number[]) => x.map((value, i) => (good[i] === want ? value : other[i]));
  const tokensOf = pairs.map((p) => p.chosenIds.length);
  return {
    lines: pairs.map((p) => p.line),
    losses: v.losses,
    chosenLogps: side(true, v.logps, zeros),
    rejectedLogps: side(false, v.logps, zeros),
    chosenRewards: side(true, v.rewards, point),
    rejectedRewards: side(false, v.rewards, point),
    tokens,
    chosenLogitSums: side(true, v.logitSums, zeros),
    rejectedLogitSums: side(false, v.logitSums, zeros),
    chosenTokens: side(true, tokensOf, zeros),
    rejectedTokens: side(false, tokensOf, zeros),
    nllShares: [],
    logOdds: [],
    labels: good.map((g) => (g ? 1 : 0)),
    kls: pairs.map(() => kto.kl),
  };
}
