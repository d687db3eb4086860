// SimPO and ORPO on the embedded engine: each loss against values computed by hand in float64, its
// gradient against central finite differences, the objective's wiring of β (λ for ORPO), γ and
// cpo_alpha with the batch's NLL shares, the metrics they log, no reference model, and TRL's
// CPO/ORPO tokenization (BOS before the prompt, EOS after each response).
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { LOSSES, LossFn, log1mexp } from '../../../src/engine/dpo/losses';
import { objective, policyForward, readValues } from '../../../src/engine/train/objective';
import { collatePairs } from '../../../src/engine/data/batch';
import { tokenLogps } from '../../../src/engine/dpo/logps';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { pairMetrics } from '../../../src/engine/train/pair-values';
import { ReferenceLogps } from '../../../src/engine/train/reference';
import { TokenizedPair, tokenizePairs } from '../../../src/engine/data/tokenize';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { DEFAULT_CONFIG, DpoConfig } from '../../../src/protocol';

const close = (what: string, a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))); // −log σ(−x)
const log1mexp64 = (x: number) => Math.log(-Math.expm1(x));
const logOdds64 = (c: number, r: number) => c - r - (log1mexp64(c) - log1mexp64(r));

/** [policy chosen, policy rejected] per-token mean log-probs of each pair. */
type Two = [number, number];

async function lossAt(fn: LossFn, v: Two[], beta: number, simpoGamma = 0): Promise<number[]> {
  const out = tf.tidy(() =>
    fn(
      {
        policyChosenLogps: tf.tensor1d(v.map((r) => r[0])),
        policyRejectedLogps: tf.tensor1d(v.map((r) => r[1])),
        referenceChosenLogps: tf.zeros([v.length]),
        referenceRejectedLogps: tf.zeros([v.length]),
      },
      { beta, labelSmoothing: 0, simpoGamma },
    ),
  );
  const data = Array.from(await out.data());
  out.dispose();
  return data;
}

describe('SimPO and ORPO losses', () => {
  before(useTestBackend);

  it('simpo (Eq. 6, arXiv:2405.14734): β = 2.5, γ = 0.8, means -1.2 / -1.5: −log σ(2.5·0.3 − 0.8) = log(1 + e^0.05)', async () => {
    const [loss] = await lossAt(LOSSES.simpo, [[-1.2, -1.5]], 2.5, 0.8);
    close('simpo', loss, Math.log1p(Math.exp(0.05)));
    close('simpo, by number', loss, 0.7184596, 1e-6);
    // γ moves the loss: without it, −log σ(0.75).
    const [noGamma] = await lossAt(LOSSES.simpo, [[-1.2, -1.5]], 2.5, 0);
    close('simpo γ = 0', noGamma, Math.log1p(Math.exp(-0.75)));
  });

  it('orpo (Eq. 6-7, arXiv:2403.07691): λ·(−log σ(log odds ratio)), odds of mean log-probs', async () => {
    const [c, r] = [-0.4, -2.0];
    // log odds(y) = log p − log(1 − p): −0.4 − log(1 − e^−0.4), −2 − log(1 − e^−2)
    const lor = c - Math.log(1 - Math.exp(c)) - (r - Math.log(1 - Math.exp(r)));
    const [loss] = await lossAt(LOSSES.orpo, [[c, r]], 0.35);
    close('orpo', loss, 0.35 * softplus(-lor));
    close('orpo, by number', lor, 2.5642195, 1e-6); // 0.7096326 − (−1.8545869)
  });

  it('log1mexp is exact on both sides of −ln 2, and finite-gradient where a branch is not taken', async () => {
    const xs = [-30, -5, -0.7, -0.69, -1e-3];
    const got = await tf.tidy(() => log1mexp(tf.tensor1d(xs))).data();
    xs.forEach((x, i) => close(`log1mexp(${x})`, got[i], log1mexp64(x), 1e-5));
    const g = await tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(log1mexp(x)))(tf.tensor1d(xs))).data();
    xs.forEach((x, i) => close(`d log1mexp(${x})`, g[i], -Math.exp(x) / -Math.expm1(x), 1e-3));
  });

  for (const [name, beta, gamma] of [
    ['simpo', 2.5, 0.8],
    ['orpo', 0.35, 0],
  ] as const) {
    it(`${name}: gradient w.r.t. the mean log-probs matches finite differences, and raises the chosen`, async () => {
      const fn = LOSSES[name];
      const point: Two[] = [
        [-1.2, -1.5],
        [-3, -0.5],
      ];
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          fn(
            {
              policyChosenLogps: a as tf.Tensor1D,
              policyRejectedLogps: b as tf.Tensor1D,
              referenceChosenLogps: tf.zeros([2]),
              referenceRejectedLogps: tf.zeros([2]),
            },
            { beta, labelSmoothing: 0, simpoGamma: gamma },
          ),
        ),
      );
      const analytic = await Promise.all(grads([0, 1].map((i) => tf.tensor1d(point.map((r) => r[i])))).map((g) => g.data()));
      const h = 1e-3;
      for (let arg = 0; arg < 2; arg++)
        for (let row = 0; row < point.length; row++) {
          const shifted = (d: number) => point.map((r, i) => r.map((x, j) => (i === row && j === arg ? x + d : x)) as Two);
          const numeric = ((await lossAt(fn, shifted(h), beta, gamma))[row] - (await lossAt(fn, shifted(-h), beta, gamma))[row]) / (2 * h);
          assert.ok(
            Math.abs(analytic[arg][row] - numeric) < 2e-3 * Math.max(1, Math.abs(numeric)),
            `${name} d/d arg${arg} row${row}: ${analytic[arg][row]} vs ${numeric}`,
          );
        }
      assert.ok(analytic[0][0] < 0 && analytic[1][0] > 0);
    });
  }
});

// Two pairs: prompt 3 / 5 tokens; chosen 4 / 2 tokens; rejected 5 / 3 tokens.
const pairs: TokenizedPair[] = [
  { line: 1, promptIds: [1, 2, 3], chosenIds: [4, 5, 6, 7], rejectedIds: [4, 5, 6, 7, 8], truncated: false },
  { line: 2, promptIds: [1, 2, 3, 4, 5], chosenIds: [6, 7], rejectedIds: [6, 7, 8], truncated: false },
];
const sums = [-4.8, -3.0, -7.5, -4.5]; // chosen 1, chosen 2, rejected 1, rejected 2 (summed response log-probs)
const fullSums = [-9.6, -11.0, 0, 0]; // prompt + chosen, chosen rows only
const config = (fields: Partial<DpoConfig>): DpoConfig => ({ ...DEFAULT_CONFIG, model: 'm', data: 'd', ...fields });

async function run(c: DpoConfig) {
  const t = tf.tidy(() =>
    objective({ sums: tf.tensor1d(sums), logitSums: tf.tensor1d([1, 2, 3, 4]), fullSums: tf.tensor1d(fullSums) }, [0, 0, 0, 0], pairs, c),
  );
  const values = await readValues(t, pairs, 10);
  return { values, metrics: pairMetrics(values, 'train', 'dpo') };
}

describe('SimPO and ORPO objectives (wiring of β, γ, cpo_alpha and the NLL shares)', () => {
  before(useTestBackend);
  const means = { c: [-4.8 / 4, -3.0 / 2], r: [-7.5 / 5, -4.5 / 3] };

  it('simpo: per-pair loss = −log σ(β·Δ − γ) + cpo_alpha·(pair share of the chosen NLL); rewards β·mean', async () => {
    const c = config({ loss_type: 'simpo', beta: 2.5, simpo_gamma: 0.8, cpo_alpha: 0.3 });
    const { values, metrics } = await run(c);
    const nll = -(-4.8 + -3.0) / 6; // the batch's token mean over chosen tokens (TRL's one cross-entropy)
    const want = [0, 1].map((i) => softplus(-(2.5 * (means.c[i] - means.r[i]) - 0.8)) + 0.3 * ((-sums[i] * 2) / 6));
    want.forEach((w, i) => close(`loss ${i}`, values.losses[i], w));
    close('nll_loss', metrics.nll_loss, nll);
    close('loss metric', metrics.loss, (want[0] + want[1]) / 2);
    close('rewards/chosen', metrics['rewards/chosen'], (2.5 * (means.c[0] + means.c[1])) / 2);
    close('logps/rejected (means)', metrics['logps/rejected'], (means.r[0] + means.r[1]) / 2);
    assert.equal(metrics['logits/chosen'], undefined, 'no padding-dependent logits/* for SimPO');
    // cpo_alpha 0: plain SimPO, and nll_loss 0 as TRL logs it.
    const plain = await run(config({ loss_type: 'simpo', beta: 2.5, simpo_gamma: 0.8 }));
    close('plain loss', plain.values.losses[0], softplus(-(2.5 * (means.c[0] - means.r[0]) - 0.8)));
    assert.equal(plain.metrics.nll_loss, 0);
  });

  it('orpo: per-pair loss = (pair share of the prompt+chosen NLL) + λ·(−log σ(log odds ratio)); log_odds_* metrics', async () => {
    const { values, metrics } = await run(config({ loss_type: 'orpo', beta: 0.35 }));
    const tokens = [3 + 4 - 1, 5 + 2 - 1]; // every real token after the first
    const total = tokens[0] + tokens[1];
    const lor = [0, 1].map((i) => logOdds64(means.c[i], means.r[i]));
    const want = [0, 1].map((i) => (-fullSums[i] * 2) / total + 0.35 * softplus(-lor[i]));
    want.forEach((w, i) => close(`loss ${i}`, values.losses[i], w));
    close('nll_loss', metrics.nll_loss, -(fullSums[0] + fullSums[1]) / total);
    close('log_odds_chosen', metrics.log_odds_chosen, (lor[0] + lor[1]) / 2);
    close('log_odds_ratio', metrics.log_odds_ratio, (-softplus(-lor[0]) - softplus(-lor[1])) / 2);
    close('rewards/rejected', metrics['rewards/rejected'], (0.35 * (means.r[0] + means.r[1])) / 2);
  });
});

describe('SimPO and ORPO load no reference and tokenize as TRL CPO/ORPO', () => {
  before(useTestBackend);
  const dir = tinyModel(path.join(tempDir('reference-free'), 'm'));

  for (const lossType of ['simpo', 'orpo'] as const) {
    it(`${lossType}: no reference model is read (a missing folder is never opened), reference log-probs are zeros`, async () => {
      const c = config({
        loss_type: lossType,
        reference_model: path.join(dir, 'no-such-model'),
        precompute_ref_log_probs: true,
        output_dir: tempDir('rf-out'),
      });
      const log: string[] = [];
      const report = { log: (l: string) => log.push(l), warn: () => {}, progress: (_p: unknown, _d: number, _t: number, m?: string) => m && log.push(m) };
      const ref = await ReferenceLogps.prepare(c, { train: pairs, eval: [] }, 0, 128, report);
      assert.deepEqual(await ref.forBatch(pairs, 'train', undefined as never, 'dpo'), [0, 0, 0, 0]);
      assert.ok(!log.some((l) => /reference/.test(l)), log.join('\n'));
      ref.dispose();
    });
  }

  it("orpo's forward pass: response sums, and for chosen rows the sum over every real token after the first (against per-token log-probs)", async () => {
    const model = loadModel(dir).model;
    try {
      const ids = [...pairs, { ...pairs[0], line: 3, promptIds: [9, 8], chosenIds: [7, 6, 5, 4, 3, 2], rejectedIds: [1] }];
      const batch = collatePairs(ids, 0);
      const c = config({ loss_type: 'orpo' });
      const [got, per] = tf.tidy(() => {
        const f = policyForward(model, batch, ids, c);
        return [tf.stack([f.sums, f.fullSums!]), tokenLogps(model, tf.tensor2d(batch.ids, [batch.rows, batch.length], 'int32'))];
      });
      const [g, t] = [await got.array(), await per.array()] as [number[][], number[][]];
      tf.dispose([got, per]);
      const n = ids.length;
      ids.forEach((p, r) => {
        const real = p.promptIds.length + p.chosenIds.length;
        const full = t[r].slice(0, real - 1).reduce((a, b) => a + b, 0); // tokens 1..real-1
        const response = t[r].slice(p.promptIds.length - 1, real - 1).reduce((a, b) => a + b, 0);
        close(`row ${r} full`, g[1][r], full, 1e-4);
        close(`row ${r} response`, g[0][r], response, 1e-4);
        assert.equal(g[1][n + r], 0, 'rejected rows have no full sum');
      });
    } finally {
      model.dispose();
    }
  });

  it('the cpo rule puts BOS before the prompt and EOS after each response (ids without special tokens otherwise)', () => {
    const tok = loadTokenizer(dir);
    const pair = { line: 1, prompt: 'Q: sky?\nA:', chosen: ' blue', rejected: ' red!', conversational: false } as never;
    const {
      pairs: [p],
    } = tokenizePairs(tok, [pair], { maxLength: 64, rule: 'cpo' });
    assert.equal(p.promptIds[0], tok.bosId);
    assert.deepEqual(p.promptIds.slice(1), tok.encode('Q: sky?\nA:', false));
    assert.deepEqual(p.chosenIds, [...tok.encode(' blue', false), tok.eosId]);
    assert.deepEqual(p.rejectedIds, [...tok.encode(' red!', false), tok.eosId]);
    const {
      pairs: [d],
    } = tokenizePairs(tok, [pair], { maxLength: 64 });
    assert.notDeepEqual(d.promptIds, p.promptIds, 'the dpo rule differs on this tokenizer (no BOS), so the rule matters');
  });
});
