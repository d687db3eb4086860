// The preference losses, one pure function per variant, on the four sequence log-probs of a batch
// of pairs (each [B]). They return per-pair losses [B]; preferenceLoss adds the implicit rewards,
// as the paper's preference_loss does. Written from plain ops because tf.logSigmoid has no working
// gradient on wasm.
import * as tf from '@tensorflow/tfjs';
import { LossMember } from '../../protocol';

/** The members with a per-pair loss ("sft" is a batch term: objective.ts). */
export type PairLossType = Exclude<LossMember, 'sft'>;
export type ReferenceFreeLossType = 'simpo' | 'orpo';

export interface PairLogps {
  policyChosenLogps: tf.Tensor1D;
  policyRejectedLogps: tf.Tensor1D;
  referenceChosenLogps: tf.Tensor1D;
  referenceRejectedLogps: tf.Tensor1D;
}

export interface LossParams {
  beta: number;
  /** Conservative DPO's ε (sigmoid only). */
  labelSmoothing: number;
  /** SimPO's target margin γ (simpo only; TRL's simpo_gamma). */
  simpoGamma?: number;
}

export type LossFn = (logps: PairLogps, params: LossParams) => tf.Tensor1D;

/** log σ(x) = min(x, 0) − log(1 + e^−|x|): exact for large |x| and differentiable on every backend. */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.minimum(x, 0), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

/** h = (log πθ(yw|x) − log πθ(yl|x)) − (log πref(yw|x) − log πref(yl|x)), the log-ratio margin. */
export function logRatioMargin(l: PairLogps): tf.Tensor1D {
  return tf.sub(tf.sub(l.policyChosenLogps, l.policyRejectedLogps), tf.sub(l.referenceChosenLogps, l.referenceRejectedLogps));
}

/**
 * DPO, Eq. 7 of arXiv:2305.18290: −log σ(βh). With ε > 0, conservative DPO (cDPO, as in the
 * reference code and TRL): −(1−ε)·log σ(βh) − ε·log σ(−βh).
 */
export const sigmoidLoss: LossFn = (l, { beta, labelSmoothing }) => {
  const z = tf.mul(logRatioMargin(l), beta);
  const loss = tf.neg(tf.mul(logSigmoid(z), 1 - labelSmoothing));
  return (labelSmoothing > 0 ? tf.sub(loss, tf.mul(logSigmoid(tf.neg(z)), labelSmoothing)) : loss) as tf.Tensor1D;
};

/**
 * IPO, Eq. 17 of arXiv:2310.12036: (h − 1/(2β))². The trainer feeds it per-token MEAN log-probs
 * (as TRL does): the target margin 1/(2β) is a fixed number, and with summed log-probs the same
 * regularisation would bind ever harder as responses grow longer.
 */
export const ipoLoss: LossFn = (l, { beta }) => tf.square(tf.sub(logRatioMargin(l), 1 / (2 * beta))) as tf.Tensor1D;

/** Hinge (SLiC, arXiv:2305.10425, as in the DPO reference code): max(0, 1 − βh). */
export const hingeLoss: LossFn = (l, { beta }) => tf.relu(tf.sub(1, tf.mul(logRatioMargin(l), beta))) as tf.Tensor1D;

/**
 * SimPO, Eq. 6 of arXiv:2405.14734: −log σ(β·(avg log πθ(yw) − avg log πθ(yl)) − γ), on per-token
 * MEAN log-probs and without a reference (its log-probs are fed as zeros), as TRL's CPOTrainer with
 * loss_type "simpo" computes it. CPO's optional NLL term (cpo_alpha) is the objective's, not this.
 */
export const simpoLoss: LossFn = (l, { beta, simpoGamma = 0 }) =>
  tf.neg(logSigmoid(tf.sub(tf.mul(tf.sub(l.policyChosenLogps, l.policyRejectedLogps), beta), simpoGamma))) as tf.Tensor1D;

/**
 * log(1 − e^x) for x < 0, switching at −ln 2 as TRL's log1mexp does (Mächler's note) so neither
 * branch cancels. Each branch sees its argument clamped to its own side: the branch tf.where does
 * not pick then stays finite, so its zero gradient does not turn into 0·∞ = NaN.
 */
export function log1mexp(x: tf.Tensor): tf.Tensor {
  const t = -Math.LN2;
  const far = tf.log1p(tf.neg(tf.exp(tf.minimum(x, t))));
  const near = tf.log(tf.neg(tf.expm1(tf.maximum(x, t))));
  // The branch choice is a constant read off the values: tf.less has no gradient on the tape.
  const pick = tf.tensor(
    Array.from(x.dataSync(), (v) => (v < t ? 1 : 0)),
    x.shape,
    'bool',
  );
  return tf.where(pick, far, near);
}

/** ORPO's log odds ratio, Eq. 4/7 of arXiv:2403.07691: log odds(yw) − log odds(yl), odds(y) = P/(1−P) of MEAN log-probs. */
export function logOddsRatio(l: PairLogps): tf.Tensor1D {
  const c = l.policyChosenLogps;
  const r = l.policyRejectedLogps;
  return tf.sub(tf.sub(c, r), tf.sub(log1mexp(c), log1mexp(r))) as tf.Tensor1D;
}

/**
 * ORPO's odds-ratio term λ·(−log σ(log odds ratio)), Eq. 6 of arXiv:2403.07691, with λ = β (TRL's
 * ORPOConfig). The NLL term on the prompt and chosen response is the objective's (it needs every
 * token's log-prob, not the response means this sees). Reference-free: the reference is ignored.
 */
export const orpoLoss: LossFn = (l, { beta }) => tf.mul(tf.neg(logSigmoid(logOddsRatio(l))), beta) as tf.Tensor1D;

/**
 * BCO's pair loss as TRL's DPOTrainer computes it (loss_type "bco_pair", arXiv:2404.04656 without
 * the running reward shift): −log σ(β·(log πθ(yw) − log πref(yw))) − log σ(−β·(log πθ(yl) − log πref(yl))).
 */
export const bcoPairLoss: LossFn = (l, { beta }) => {
  const chosen = tf.mul(tf.sub(l.policyChosenLogps, l.referenceChosenLogps), beta);
  const rejected = tf.mul(tf.sub(l.policyRejectedLogps, l.referenceRejectedLogps), beta);
  return tf.neg(tf.add(logSigmoid(chosen), logSigmoid(tf.neg(rejected)))) as tf.Tensor1D;
};

/** The per-pair losses: DPOTrainer's pair losses (loss-list members but "sft") and the reference-free SimPO and ORPO. */
export const LOSSES: Record<PairLossType | ReferenceFreeLossType, LossFn> = {
  sigmoid: sigmoidLoss,
  ipo: ipoLoss,
  hinge: hingeLoss,
  bco_pair: bcoPairLoss,
  simpo: simpoLoss,
  orpo: orpoLoss,
};

/** Whether a loss reads per-token mean log-probs instead of sums. */
export const USES_MEAN_LOGPS: Record<PairLossType | ReferenceFreeLossType, boolean> = {
  sigmoid: false,
  ipo: true,
  hinge: false,
  bco_pair: false,
  simpo: true,
  orpo: true,
};

/** β·(log πθ(y|x) − log πref(y|x)): the implicit reward (Section 5 of arXiv:2305.18290), computed only here. */
export function implicitRewards(policyLogps: tf.Tensor1D, referenceLogps: tf.Tensor1D, beta: number): tf.Tensor1D {
  return tf.mul(tf.sub(policyLogps, referenceLogps), beta) as tf.Tensor1D;
}

/** The same reward on numbers, for the probe, `dpo reward` and triage. */
export { implicitReward } from './implicit-reward';

export interface PreferenceLoss {
  /** Per-pair losses [B]. */
  losses: tf.Tensor1D;
  /** Per-pair implicit rewards [B]; not part of the loss, so outside the gradient (the paper's `.detach()`). */
  chosenRewards: tf.Tensor1D;
  rejectedRewards: tf.Tensor1D;
}

/** An unknown loss type (a config from a newer version) is an error here, never a NaN loss. */
function lossFunction(lossType: PairLossType | ReferenceFreeLossType): LossFn {
  if (!Object.prototype.hasOwnProperty.call(LOSSES, lossType))
    throw new Error(`loss_type "${lossType}" has no per-pair loss here (one of ${Object.keys(LOSSES).join(', ')})`);
  return LOSSES[lossType];
}

/** The paper's preference_loss: per-pair losses of `lossType` and the rewards they imply. */
export function preferenceLoss(lossType: PairLossType | ReferenceFreeLossType, l: PairLogps, params: LossParams): PreferenceLoss {
  return {
    losses: lossFunction(lossType)(l, params),
    chosenRewards: implicitRewards(l.policyChosenLogps, l.referenceChosenLogps, params.beta),
    rejectedRewards: implicitRewards(l.policyRejectedLogps, l.referenceRejectedLogps, params.beta),
  };
}
