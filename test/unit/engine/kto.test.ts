// KTO (mode "kto") on the embedded engine: the loss against values computed by hand, its gradient
// against central finite differences, the KL reference point, the weights reaching the loss through
// the run config, TRL's KL completions, and the metrics and pairs.jsonl records of unpaired examples.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/fixtures';
import { klReferencePoint, ktoLosses } from '../../../src/engine/dpo/kto-loss';
import { objective, readValues } from '../../../src/engine/train/objective';
import { pairMetrics, pairRecords } from '../../../src/engine/train/pair-values';
import { withKlCompletions } from '../../../src/engine/train/kto-data';
import { TokenizedPair } from '../../../src/engine/data/tokenize';
import { DEFAULT_CONFIG, DpoConfig, resolveConfig } from '../../../src/protocol';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const sigma = (x: number) => 1 / (1 + Math.exp(-x));

// Two desirable and two undesirable examples: policy and reference summed log-probs.
const POLICY = [-10, -20, -14, -9];
const REFERENCE = [-11, -19, -15, -9.5];
const LABELS = [true, true, false, false];
const KL = 0.4;
const BETA = 0.5;
const P = { beta: BETA, desirableWeight: 1.5, undesirableWeight: 0.25 };

async function losses(policy: number[], labels = LABELS, kl = KL, p = P): Promise<number[]> {
  const out = tf.tidy(() => ktoLosses(tf.tensor1d(policy), tf.tensor1d(REFERENCE), labels, kl, p));
  const data = Array.from(await out.data());
  out.dispose();
  return data;
}

describe('KTO loss', () => {
  before(useTestBackend);

  it('desirable: λ_D(1 − σ(β(r − z))); undesirable: λ_U(1 − σ(β(z − r)))', async () => {
    // r = policy − reference = [1, −1, 1, 0.5]; β(r − z) = [0.3, −0.7]; β(z − r) = [−0.3, −0.05].
    const got = await losses(POLICY);
    close(got[0], 1.5 * (1 - sigma(0.3)));
    close(got[1], 1.5 * (1 - sigma(-0.7)));
    close(got[2], 0.25 * (1 - sigma(-0.3)));
    close(got[3], 0.25 * (1 - sigma(-0.05)));
    close(got[0], 0.6383362, 1e-6); // 1.5 · (1 − σ(0.3)) = 1.5 · (1 − 0.5744425)
  });

  it('each weight scales only its label; z shifts desirable and undesirable rewards in opposite directions', async () => {
    const base = await losses(POLICY);
    const d2 = await losses(POLICY, LABELS, KL, { ...P, desirableWeight: 3 });
    const u2 = await losses(POLICY, LABELS, KL, { ...P, undesirableWeight: 0.5 });
    [0, 1].forEach((i) => (close(d2[i], 2 * base[i]), close(u2[i], base[i])));
    [2, 3].forEach((i) => (close(u2[i], 2 * base[i]), close(d2[i], base[i])));
    const higher = await losses(POLICY, LABELS, KL + 1);
    assert.ok(higher[0] > base[0] && higher[1] > base[1], 'a higher reference point raises desirable losses');
    assert.ok(higher[2] < base[2] && higher[3] < base[3], 'and lowers undesirable ones');
  });

  it('gradient with respect to the policy log-probs equals central finite differences (z held constant)', async () => {
    const grad = tf.grad((x: tf.Tensor) => tf.sum(ktoLosses(x as tf.Tensor1D, tf.tensor1d(REFERENCE), LABELS, KL, P)));
    const g = grad(tf.tensor1d(POLICY));
    const analytic = Array.from(await g.data());
    g.dispose();
    const h = 1e-2;
    for (let i = 0; i < POLICY.length; i++) {
      const plus = POLICY.map((v, j) => (j === i ? v + h : v));
      const minus = POLICY.map((v, j) => (j === i ? v - h : v));
      const fd = ((await losses(plus))[i] - (await losses(minus))[i]) / (2 * h);
      close(analytic[i], fd, 2e-3);
      // and the closed form: ∂/∂logp of λ(1 − σ(βs(r − z))) = −λβs·σ(1 − σ)
      const s = LABELS[i] ? 1 : -1;
      const w = LABELS[i] ? P.desirableWeight : P.undesirableWeight;
      const v = sigma(BETA * s * (POLICY[i] - REFERENCE[i] - KL));
      close(analytic[i], -w * BETA * s * v * (1 - v), 1e-5);
    }
  });

  it('z_ref is the mean KL log-ratio of the mismatched pairs, clamped at 0', () => {
    close(klReferencePoint([-10, -12], [-11, -12.5]), 0.75);
    assert.equal(klReferencePoint([-12, -12], [-11, -11]), 0);
    assert.equal(klReferencePoint([], []), 0);
  });
});

const example = (line: number, label: boolean, completion: number[], kl: number[] = []): TokenizedPair => ({
  line,
  promptIds: [1, 2],
  chosenIds: completion,
  rejectedIds: kl,
  truncated: false,
  label,
});

describe('KTO through the run config', () => {
  before(useTestBackend);

  it("desirable_weight and undesirable_weight reach the loss (objective), and TRL's metric names come out", async () => {
    const c: DpoConfig = { ...DEFAULT_CONFIG, mode: 'kto', beta: BETA, desirable_weight: 1.5, undesirable_weight: 0.25 };
    const pairs = LABELS.map((l, i) => example(i + 1, l, new Array<number>(i + 2).fill(5)));
    const t = tf.tidy(() => objective({ sums: tf.tensor1d(POLICY), logitSums: tf.tensor1d([2, 4, 6, 8]) }, REFERENCE, pairs, c, KL));
    const values = await readValues(t, pairs, 10, { kl: KL, beta: BETA });
    const want = await losses(POLICY);
    values.losses.forEach((x, i) => close(x, want[i], 1e-5));
    const m = pairMetrics(values, 'train', 'kto');
    close(m.loss, want.reduce((a, b) => a + b) / 4, 1e-5);
    close(m.kl, KL);
    close(m['rewards/chosen'], (BETA * (1 + -1)) / 2, 1e-5);
    close(m['rewards/rejected'], (BETA * (1 + 0.5)) / 2, 1e-5);
    close(m['rewards/margins'], m['rewards/chosen'] - m['rewards/rejected']);
    close(m['logps/chosen'], -15);
    close(m['logps/rejected'], -11.5);
    close(m['logits/chosen'], (2 + 4) / (2 + 3)); // summed logit means over the desirable completions' tokens
    close(m['logits/rejected'], (6 + 8) / (4 + 5));
    assert.equal(m['rewards/accuracies'], undefined, 'KTO has no pairs to be accurate on');
    const records = pairRecords(values, 3, 'train');
    assert.deepEqual(
      records.map((r) => [r.line, r.label]),
      [
        [1, true],
        [2, true],
        [3, false],
        [4, false],
      ],
    );
    // The reward on the label's side, β·z on the other; margin > 0 when KTO is satisfied; loss λ(1 − σ(margin)).
    close(records[0].chosen_reward, BETA * 1, 1e-5);
    close(records[0].rejected_reward, BETA * KL, 1e-5);
    close(records[2].chosen_reward, BETA * KL, 1e-5);
    close(records[2].rejected_reward, BETA * 1, 1e-5);
    records.forEach((r, i) => close(r.loss, (LABELS[i] ? 1.5 : 0.25) * (1 - sigma(r.margin)), 1e-5));
  });

  it('a window with one label logs that label only (TRL appends nothing for an absent label)', async () => {
    const c: DpoConfig = { ...DEFAULT_CONFIG, mode: 'kto' };
    const pairs = [example(1, true, [5, 5]), example(2, true, [5])];
    const t = tf.tidy(() => objective({ sums: tf.tensor1d([-3, -4]), logitSums: tf.tensor1d([1, 1]) }, [-3, -4], pairs, c, 0));
    const m = pairMetrics(await readValues(t, pairs, 6, { kl: 0, beta: c.beta }), 'eval', 'kto');
    assert.ok('eval_rewards/chosen' in m && 'eval_kl' in m);
    assert.ok(!('eval_rewards/rejected' in m) && !('eval_rewards/margins' in m) && !('eval_logps/rejected' in m));
  });

  it('config: weights only in mode "kto"; DPO-only fields and batch_size 1 refused there, each by field', () => {
    const base = { model: 'm', data: 'd' };
    assert.throws(() => resolveConfig({ ...base, desirable_weight: 2 }), /desirable_weight: applies to mode "kto" only/);
    assert.equal(resolveConfig({ ...base, mode: 'kto', desirable_weight: 2 }).desirable_weight, 2);
    for (const [field, value] of [
      ['loss_type', 'ipo'],
      ['sft_weight', 0.5],
      ['label_smoothing', 0.1],
      ['reference_free', true],
    ] as const)
      assert.throws(() => resolveConfig({ ...base, mode: 'kto', [field]: value }), new RegExp(`${field}: does not apply to mode "kto"`));
    assert.throws(() => resolveConfig({ ...base, mode: 'kto', batch_size: 1 }), /batch_size: mode "kto" needs at least 2/);
    assert.throws(() => resolveConfig({ ...base, mode: 'kto', precompute_ref_log_probs: true }), /precompute_ref_log_probs:/);
  });
});

describe("TRL's KL completions", () => {
  it('rotate by one within each batch-sized chunk; a lone last line is its own KL pair; both truncate to max_length', () => {
    const ex = [10, 20, 30, 40, 50].map((t, i) => example(i + 1, i % 2 === 0, [t, t, t]));
    const { examples } = withKlCompletions(ex, 2, 100);
    assert.deepEqual(
      examples.map((e) => e.rejectedIds[0]),
      [20, 10, 40, 30, 50],
    );
    const cut = withKlCompletions([example(1, true, [7, 7, 7, 7]), { ...example(2, false, [8]), promptIds: [1] }], 2, 4);
    assert.deepEqual(cut.examples[0].chosenIds, [7, 7]); // 4 − 2 prompt tokens
    assert.deepEqual(cut.examples[1].rejectedIds, [7, 7, 7]); // the neighbour's whole completion, cut to this line's room
    assert.equal(cut.truncatedCount, 1);
  });
});
