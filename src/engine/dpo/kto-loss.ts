// The KTO loss (Ethayarajh et al., arXiv:2402.01306, Eq. 7-8; as TRL's KTOTrainer computes it) on
// unpaired examples: per-example losses from summed log-probs, a label and the batch's KL reference
// point. Not the KL estimate's forward passes: the step computes those (without gradient, as TRL).
import * as tf from '@tensorflow/tfjs';

export interface KtoParams {
  beta: number;
  /** λ_D: weight of a desirable example's loss. */
  desirableWeight: number;
  /** λ_U: weight of an undesirable example's loss. */
  undesirableWeight: number;
}

/**
 * Per-example losses [n]: with r = log πθ(y|x) − log πref(y|x) and z the reference point,
 * desirable: λ_D·(1 − σ(β(r − z))); undesirable: λ_U·(1 − σ(β(z − r))). z is a constant (TRL
 * detaches it), so no gradient flows into the KL estimate.
 */
export function ktoLosses(policyLogps: tf.Tensor1D, referenceLogps: tf.Tensor1D, labels: boolean[], kl: number, p: KtoParams): tf.Tensor1D {
  return tf.tidy(() => {
    const sign = tf.tensor1d(labels.map((l) => (l ? 1 : -1)));
    const weight = tf.tensor1d(labels.map((l) => (l ? p.desirableWeight : p.undesirableWeight)));
    const logratios = tf.sub(policyLogps, referenceLogps);
    const value = tf.sigmoid(tf.mul(tf.mul(tf.sub(logratios, kl), sign), p.beta)); // v(x, y) of the paper
    return tf.mul(weight, tf.sub(1, value)) as tf.Tensor1D;
  });
}

/**
 * z_ref: the batch mean of log πθ(y'|x) − log πref(y'|x) over its mismatched (KL) pairs, clamped at
 * 0 (a KL divergence cannot be negative; TRL's `.clamp(min=0)`).
 */
export function klReferencePoint(policyKlLogps: number[], referenceKlLogps: number[]): number {
  if (policyKlLogps.length === 0) return 0;
  const sum = policyKlLogps.reduce((a, x, i) => a + (x - referenceKlLogps[i]), 0);
  return Math.max(0, sum / policyKlLogps.length);
}
