// The objective on one batch of pairs, shared by the training step (inside variableGrads) and by
// evaluation (inside tidy), so train and eval metrics come from the same numbers: per-pair losses,
// implicit rewards, and the log-probs the loss saw. SFT (the reference-making mode) is the NLL of
// the chosen response; DPO adds it as RPO's term when sft_weight > 0. SimPO and ORPO (no reference)
// are in objective-reference-free.ts.
import * as tf from '@tensorflow/tfjs';
import { DpoConfig, isReferenceFreeLoss } from '../../protocol';
import { TokenizedPair } from '../data/tokenize';
import { SequenceBatch, collate, collatePairs } from '../data/batch';
import { USES_MEAN_LOGPS, implicitRewards, preferenceLoss } from '../dpo/losses';
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
  const perToken = USES_MEAN_LOGPS[c.loss_type];
  const logps = (perToken ? tf.div(sums, counts) : sums) as tf.Tensor1D; // [2n]
  const refSums = tf.tensor1d(referenceSums);
  const ref = (perToken ? tf.div(refSums, counts) : refSums) as tf.Tensor1D; // [2n]
  const out = preferenceLoss(
    c.loss_type,
    {
      policyChosenLogps: tf.slice(logps, 0, n),
      policyRejectedLogps: tf.slice(logps, n, n),
      referenceChosenLogps: tf.slice(ref, 0, n),
      referenceRejectedLogps: tf.slice(ref, n, n),
    },
    { beta: c.beta, labelSmoothing: c.label_smoothing },
  );
  let losses = out.losses;
  if (c.sft_weight > 0) {
    const nll = tf.neg(tf.div(tf.slice(sums, 0, n), tf.slice(counts, 0, n))); // [n]
    losses = tf.add(losses, tf.mul(nll, c.sft_weight)) as tf.Tensor1D;
  }
  if (!perToken) return { losses, logps: sums, chosenRewards: out.chosenRewards, rejectedRewards: out.rejectedRewards, logitSums };
  // IPO's loss reads per-token means; its rewards and logps/* are of the sums, as TRL's (test/conformance/pair-values).
  return {
    losses,
    logps: sums,
    chosenRewards: implicitRewards(tf.slice(sums, 0, n), tf.slice(refSums, 0, n), c.beta),
    rejectedRewards: implicitRewards(tf.slice(sums, n, n), tf.slice(refSums, n, n), c.beta),
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
