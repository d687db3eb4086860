// Combined losses (loss_type lists with loss_weights): the config's terms, the objective's value on a
// hand-built batch against the formulas written out here, and its gradient by finite differences.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_CONFIG, DpoConfig, lossTermProblems, lossTerms } from '../../../src/protocol';
import { objective } from '../../../src/engine/train/objective';
import { TokenizedPair } from '../../../src/engine/data/tokenize';
import { bcoPairLoss } from '../../../src/engine/dpo/losses';

const logSig = (z: number) => (z < 0 ? z - Math.log1p(Math.exp(z)) : -Math.log1p(Math.exp(-z)));
const BETA = 0.2;
// Two pairs with different chosen lengths, so a per-pair token mean and TRL's batch token mean differ.
const LENS = [
  [3, 5],
  [9, 2],
];
const POLICY = [-6, -20, -9, -4]; // chosen 0, chosen 1, rejected 0, rejected 1
const REFERENCE = [-7, -18, -8, -5];
const pairs: TokenizedPair[] = LENS.map(([c, r], i) => ({
  line: i + 1,
  promptIds: [1],
  chosenIds: new Array<number>(c).fill(2),
  rejectedIds: new Array<number>(r).fill(3),
  truncated: false,
}));
const config = (fields: Partial<DpoConfig>): DpoConfig => ({ ...DEFAULT_CONFIG, model: 'm', data: 'd', beta: BETA, ...fields });

function lossesAt(policy: number[], c: DpoConfig): number[] {
  return tf.tidy(() => Array.from(objective({ sums: tf.tensor1d(policy), logitSums: tf.zeros([4]) }, REFERENCE, pairs, c).losses.dataSync()));
}

/** The formulas of TRL's DPOTrainer, per pair, in plain numbers. */
function expected(policy: number[], terms: { type: string; weight: number }[]): number[] {
  const batchNll = -(policy[0] + policy[1]) / (LENS[0][0] + LENS[1][0]);
  return [0, 1].map((i) => {
    const [pc, pr, rc, rr] = [policy[i], policy[2 + i], REFERENCE[i], REFERENCE[2 + i]];
    const [lc, lr] = LENS[i];
    const member: Record<string, number> = {
      sigmoid: -logSig(BETA * (pc - pr - (rc - rr))),
      hinge: Math.max(0, 1 - BETA * (pc - pr - (rc - rr))),
      ipo: ((pc - rc) / lc - (pr - rr) / lr - 1 / (2 * BETA)) ** 2,
      bco_pair: -logSig(BETA * (pc - rc)) - logSig(-BETA * (pr - rr)),
      sft: batchNll,
    };
    return terms.reduce((a, t) => a + t.weight * member[t.type], 0);
  });
}

const close = (got: number, want: number, what: string, tol = 1e-5) =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);

describe('loss lists: the terms a config asks for', () => {
  it('a single loss_type is one term of weight 1; a list takes loss_weights in order', () => {
    assert.deepEqual(lossTerms(config({})), [{ type: 'sigmoid', weight: 1 }]);
    assert.deepEqual(lossTerms(config({ loss_type: ['sigmoid', 'bco_pair', 'sft'], loss_weights: [0.8, 0.2, 1] })), [
      { type: 'sigmoid', weight: 0.8 },
      { type: 'bco_pair', weight: 0.2 },
      { type: 'sft', weight: 1 },
    ]);
    assert.deepEqual(lossTerms(config({ loss_type: ['ipo', 'sft'] })), [
      { type: 'ipo', weight: 1 },
      { type: 'sft', weight: 1 },
    ]);
  });

  it('sft_weight w (deprecated) is [loss_type, "sft"] with weights [1, w]', () => {
    assert.deepEqual(lossTerms(config({ sft_weight: 0.5 })), [
      { type: 'sigmoid', weight: 1 },
      { type: 'sft', weight: 0.5 },
    ]);
    assert.deepEqual(lossTerms(config({ loss_type: 'hinge', sft_weight: 2 })), [
      { type: 'hinge', weight: 1 },
      { type: 'sft', weight: 2 },
    ]);
  });

  it('problems name the field: weights that do not match, sft_weight beside a list, a non-member', () => {
    const fields = (c: Partial<DpoConfig>) => lossTermProblems(config(c)).map((p) => p.field);
    assert.deepEqual(fields({ loss_type: ['sigmoid', 'sft'], loss_weights: [1] }), ['loss_weights']);
    assert.deepEqual(fields({ loss_type: ['sigmoid', 'sft'], sft_weight: 1 }), ['sft_weight']);
    assert.deepEqual(fields({ loss_type: ['sigmoid', 'kto' as never] }), ['loss_type']);
    assert.deepEqual(fields({ loss_type: ['sigmoid', 'sft'], loss_weights: [1, 0.5] }), []);
  });
});

describe('loss lists: the objective', () => {
  const lists: { name: string; fields: Partial<DpoConfig>; terms: { type: string; weight: number }[] }[] = [
    {
      name: 'RPO ["sigmoid","sft"] [1, 0.5]',
      fields: { loss_type: ['sigmoid', 'sft'], loss_weights: [1, 0.5] },
      terms: [
        { type: 'sigmoid', weight: 1 },
        { type: 'sft', weight: 0.5 },
      ],
    },
    {
      name: 'MPO ["sigmoid","bco_pair","sft"] [0.8, 0.2, 1]',
      fields: { loss_type: ['sigmoid', 'bco_pair', 'sft'], loss_weights: [0.8, 0.2, 1] },
      terms: [
        { type: 'sigmoid', weight: 0.8 },
        { type: 'bco_pair', weight: 0.2 },
        { type: 'sft', weight: 1 },
      ],
    },
    {
      name: '["ipo","hinge"] [2, 0.25]: per-token means and sums in one objective',
      fields: { loss_type: ['ipo', 'hinge'], loss_weights: [2, 0.25] },
      terms: [
        { type: 'ipo', weight: 2 },
        { type: 'hinge', weight: 0.25 },
      ],
    },
    { name: 'sft_weight 0.5 (the alias)', fields: { sft_weight: 0.5 }, terms: lossTerms(config({ sft_weight: 0.5 })) },
  ];
  for (const l of lists) {
    it(`${l.name}: per-pair losses are Σ weight · member`, () => {
      const got = lossesAt(POLICY, config(l.fields));
      expected(POLICY, l.terms).forEach((want, i) => close(got[i], want, `pair ${i}`));
    });

    it(`${l.name}: the gradient of the summed loss w.r.t. the policy log-probs matches finite differences`, () => {
      const c = config(l.fields);
      const g = tf.tidy(() =>
        Array.from(
          tf
            .grad((s: tf.Tensor) => tf.sum(objective({ sums: s as tf.Tensor1D, logitSums: tf.zeros([4]) }, REFERENCE, pairs, c).losses))(tf.tensor1d(POLICY))
            .dataSync(),
        ),
      );
      const h = 1e-3;
      const total = (p: number[]) => expected(p, l.terms).reduce((a, b) => a + b, 0);
      for (let k = 0; k < 4; k++) {
        const shifted = (d: number) => POLICY.map((x, j) => (j === k ? x + d : x));
        close(g[k], (total(shifted(h)) - total(shifted(-h))) / (2 * h), `d/d logp ${k}`, 2e-3);
      }
    });
  }

  it('"sft" is the NLL over all chosen tokens of the batch (TRL), not the mean of per-pair token means', () => {
    const [a] = lossesAt(POLICY, config({ loss_type: ['sft'] }));
    close(a, 26 / 12, 'batch token mean');
    assert.ok(Math.abs(a - (6 / 3 + 20 / 9) / 2) > 0.04, 'differs from the per-pair mean here');
  });

  it('a zero weight adds nothing, even where its member would be huge', () => {
    const got = lossesAt(POLICY, config({ loss_type: ['sigmoid', 'ipo'], loss_weights: [1, 0] }));
    expected(POLICY, [{ type: 'sigmoid', weight: 1 }]).forEach((want, i) => close(got[i], want, `pair ${i}`));
  });

  it('bco_pair on its own: −log σ(β·chosen log-ratio) − log σ(−β·rejected log-ratio)', () => {
    const v = tf.tidy(() =>
      Array.from(
        bcoPairLoss(
          {
            policyChosenLogps: tf.tensor1d([-5]),
            policyRejectedLogps: tf.tensor1d([-9]),
            referenceChosenLogps: tf.tensor1d([-6]),
            referenceRejectedLogps: tf.tensor1d([-7]),
          },
          { beta: 0.5, labelSmoothing: 0 },
        ).dataSync(),
      ),
    );
    close(v[0], Math.log1p(Math.exp(-0.5)) + Math.log1p(Math.exp(-1)), 'bco_pair');
  });
});
