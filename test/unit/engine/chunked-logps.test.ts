// Response log-probs through the chunked head (src/engine/dpo/head-logps.ts) against the plain
// full-logits computation: same values, same logit means, same gradients for every weight, with a
// chunk smaller than the response so several chunks run; tensor count flat across calls.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { collate } from '../../../src/engine/data/batch';
import { batchTensors, sequenceLogpsAndLogits, tokenLogps } from '../../../src/engine/dpo/logps';
import { chunkRows } from '../../../src/engine/dpo/head-logps';
import { CausalLM } from '../../../src/engine/model/transformer';

const root = tempDir('chunked-logps');
const batch = collate(
  [
    { promptIds: [1, 2, 3, 4, 5], responseIds: [4, 5, 6, 7, 8, 9, 256] },
    { promptIds: [7, 8], responseIds: [9, 10, 9, 256] },
  ],
  0,
);
// The loss weights each row differently, so a row mix-up changes the gradient.
const rowWeights = [0.7, -1.3];

/** The reference: full [B, T, V] logits, log-softmax, the target's entry, masked sums. */
function fullPath(model: CausalLM, ids: tf.Tensor2D, mask: tf.Tensor2D) {
  const [B, T] = ids.shape;
  const V = model.config.vocabSize;
  const logits = tf.slice(model.logits(ids), [0, 0, 0], [B, T - 1, V]);
  const logp = tf.logSoftmax(logits);
  const oneHot = tf.oneHot(tf.slice(ids, [0, 1], [B, T - 1]), V);
  const perToken = tf.sum(tf.mul(logp, oneHot), 2); // [B, T-1]
  const m = tf.slice(mask, [0, 1], [B, T - 1]);
  return { sums: tf.sum(tf.mul(perToken, m), 1), logitSums: tf.sum(tf.mul(tf.mean(logits, 2), m), 1), perToken };
}

function modelOf(name: string, opts: Parameters<typeof tinyModel>[1], softcap?: number): CausalLM {
  const dir = tinyModel(path.join(root, name), { ...opts, seed: 5 });
  const { config, weights } = readModelWeights(dir);
  // Larger weights make sharp, far-from-uniform distributions, so every term of the gradient counts.
  for (const [n, w] of weights) if (!/norm|ln_/.test(n)) w.data.forEach((v, i) => (w.data[i] = v * 8));
  return new CausalLM({ ...config, finalSoftcap: softcap }, weights, true);
}

async function gradsOf(model: CausalLM, f: (ids: tf.Tensor2D, mask: tf.Tensor2D) => tf.Tensor1D) {
  const { value, grads } = tf.variableGrads(() => {
    const { ids, mask } = batchTensors(batch);
    return tf.sum(tf.mul(f(ids, mask), tf.tensor1d(rowWeights))) as tf.Scalar;
  }, model.trainableVariables());
  const out = new Map<string, Float32Array>();
  for (const [k, g] of Object.entries(grads)) out.set(k, (await g.data()) as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    const scale = Math.max(1, Math.abs(want[i]));
    assert.ok(Math.abs(got[i] - want[i]) <= tol * scale, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

const cases = [
  { name: 'gpt2 (tied head)', opts: { family: 'gpt2' as const, layers: 1, dModel: 16, heads: 2 } },
  { name: 'llama (untied head)', opts: { family: 'llama' as const, layers: 1, dModel: 16, heads: 2, kvHeads: 1, untiedHead: true } },
  { name: 'gpt2 with a final soft-cap', opts: { family: 'gpt2' as const, layers: 1, dModel: 16, heads: 2 }, softcap: 5 },
];

describe('chunked response log-probs', () => {
  before(useTestBackend);

  it('chunkRows keeps one chunk near its float budget', () => {
    assert.equal(chunkRows(50257), 333);
    assert.equal(chunkRows(50257, 1000), 1);
    assert.equal(chunkRows(10, 1000), 100);
  });

  for (const c of cases) {
    it(`${c.name}: values, logit means and gradients equal the full-logits path (chunks of 3)`, async () => {
      const model = modelOf(c.name.replace(/\W+/g, '-'), c.opts, c.softcap);
      const { ids, mask } = batchTensors(batch);
      const chunked = sequenceLogpsAndLogits(model, ids, mask, 3);
      const full = tf.tidy(() => fullPath(model, ids, mask));
      const fullSums = await full.sums.data();
      // The values are large (sharp weights): a 1e-6 relative tolerance is float32's 1e-6 agreement.
      assertClose(await chunked.sums.data(), fullSums, 1e-6, 'sums');
      assertClose(await chunked.logitSums.data(), await full.logitSums.data(), 1e-6, 'logitSums');
      assert.ok(Math.abs(fullSums[0]) > 1, 'the check sees non-trivial log-probs');
      const perToken = tf.tidy(() => tokenLogps(model, ids, 4));
      assertClose(await perToken.data(), await full.perToken.data(), 1e-6, 'tokenLogps');
      tf.dispose([ids, mask, chunked.sums, chunked.logitSums, full.sums, full.logitSums, full.perToken, perToken]);

      const got = await gradsOf(model, (i, m) => sequenceLogpsAndLogits(model, i, m, 3).sums);
      const want = await gradsOf(model, (i, m) => fullPath(model, i, m).sums as tf.Tensor1D);
      assert.equal(got.size, model.trainableVariables().length, 'every weight gets a gradient');
      for (const [name, g] of want) assertClose(got.get(name)!, g, 1e-5, `grad ${name}`);
      model.dispose();
    });
  }

  it('tensor count is flat across training steps through the chunked head', async () => {
    const model = modelOf('flat', cases[0].opts);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      await gradsOf(model, (ids, m) => sequenceLogpsAndLogits(model, ids, m, 2).sums);
      counts.push(tf.memory().numTensors);
    }
    assert.equal(counts[2], counts[0], `tensor counts ${counts.join(', ')}`);
    model.dispose();
  });
});
