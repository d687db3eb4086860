// One optimizer step: forward+backward over the step's micro-batches (gradient accumulation), the
// global gradient norm, a stop on non-finite values, clipping and the AdamW update. Gradients are
// of (sum of per-pair losses) / stepPairs, so accumulated micro-batches give exactly the gradient
// of the mean over the step's pairs.
import * as tf from '@tensorflow/tfjs';
import { DpoConfig } from '../../protocol';
import { CausalLM } from '../model/transformer';
import { TokenizedPair } from '../data/tokenize';
import { AdamW, clipFactor } from './optimizer';
import { ObjectiveTensors, objective, pairBatch, policyForward, readValues } from './objective';
import { PairValues, appendValues, emptyValues, mean } from './pair-values';
import { ReferenceLogps } from './reference';
import { ktoBatchInputs } from './kto-step';
import { nonFiniteWeight } from '../model/finite';

export interface StepInputs {
  config: DpoConfig;
  policy: CausalLM;
  optimizer: AdamW;
  reference: ReferenceLogps;
  padId: number;
}

export interface StepResult {
  values: PairValues;
  gradNorm: number;
}

export class NonFiniteError extends Error {}

async function microStep(s: StepInputs, pairs: TokenizedPair[], stepPairs: number, grads: Map<string, tf.Tensor>, dropoutSeed: number): Promise<PairValues> {
  const batch = pairBatch(pairs, s.config.mode, s.padId);
  const kto = s.config.mode === 'kto' ? await ktoBatchInputs(s.policy, s.reference, pairs, 'train', s.padId) : undefined;
  const ref = kto ? kto.reference : await s.reference.forBatch(pairs, 'train', batch, s.config.mode);
  let kept: ObjectiveTensors | undefined;
  const adapters = s.policy.adapters;
  adapters?.beginTraining(dropoutSeed); // LoRA dropout in this forward pass only
  const { value, grads: g } = tf.variableGrads(() => {
    const o = objective(policyForward(s.policy, batch, pairs, s.config), ref, pairs, s.config, kto?.kl);
    kept = {
      losses: tf.keep(o.losses),
      logps: tf.keep(o.logps),
      chosenRewards: tf.keep(o.chosenRewards),
      rejectedRewards: tf.keep(o.rejectedRewards),
      logitSums: tf.keep(o.logitSums),
      nllShares: o.nllShares && tf.keep(o.nllShares),
      logOdds: o.logOdds && tf.keep(o.logOdds),
    };
    return tf.div(tf.sum(o.losses), stepPairs) as tf.Scalar;
  }, s.policy.trainableVariables());
  adapters?.endTraining();
  value.dispose();
  for (const [name, w] of s.policy.trainableWeights()) {
    const gw = g[w.name];
    const prev = grads.get(name);
    grads.set(name, prev ? tf.tidy(() => tf.add(prev, gw)) : gw);
    if (prev) {
      prev.dispose();
      gw.dispose();
    }
  }
  return readValues(kept!, pairs, batch.realTokens, kto && { kl: kto.kl, beta: s.config.beta });
}

/** Runs one step at learning rate `lr`; throws NonFiniteError (naming the data lines) instead of applying a NaN update. */
export async function trainStep(s: StepInputs, stepPairs: TokenizedPair[], lr: number, stepNumber: number): Promise<StepResult> {
  const c = s.config;
  const grads = new Map<string, tf.Tensor>();
  const values = emptyValues();
  try {
    for (let i = 0; i < stepPairs.length; i += c.batch_size) {
      // Dropout masks depend on (seed, step, micro-batch) only: a resumed run draws the same ones.
      const dropoutSeed = (c.seed * 1_000_003 + stepNumber * 1_009 + i) % 2 ** 31;
      appendValues(values, await microStep(s, stepPairs.slice(i, i + c.batch_size), stepPairs.length, grads, dropoutSeed));
    }
    // One tidy per gradient: one squared copy at a time, not a second set of gradients at the peak.
    const sums = [...grads.values()].map((g) => tf.tidy(() => tf.sum(tf.square(g))));
    const normT = tf.tidy(() => tf.sqrt(tf.addN(sums)));
    for (const t of sums) t.dispose();
    const gradNorm = (await normT.data())[0];
    normT.dispose();
    const lossValue = mean(values.losses);
    if (!Number.isFinite(lossValue) || !Number.isFinite(gradNorm)) {
      const what = !Number.isFinite(lossValue) ? `loss ${lossValue}` : `grad_norm ${gradNorm}`;
      throw new NonFiniteError(
        `non-finite ${what} at step ${stepNumber}; the batch held data lines ${values.lines.join(', ')} of ${c.data}. Lower learning_rate, check those lines, or keep max_grad_norm > 0.`,
      );
    }
    const factor = clipFactor(gradNorm, c.max_grad_norm);
    s.optimizer.apply(grads, lr, factor);
    // A finite gradient can still overflow the weights (e.g. learning_rate 1e300): never go on, or
    // save a checkpoint or final/, with a NaN model.
    const badWeight = await nonFiniteWeight(s.policy.trainableWeights());
    if (badWeight) {
      throw new NonFiniteError(
        `non-finite weight '${badWeight}' after the update of step ${stepNumber} (learning_rate ${lr}): the update overflowed. Lower learning_rate; nothing was saved from this step (the last checkpoint stands).`,
      );
    }
    return { values, gradNorm };
  } finally {
    for (const g of grads.values()) g.dispose();
  }
}
