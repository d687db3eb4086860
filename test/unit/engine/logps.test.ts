import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { NaiveLM } from '../helpers/naive-lm';
import { loadModel, readModelWeights } from '../../../src/engine/model/checkpoint';
import { collate } from '../../../src/engine/data/batch';
import { computeSequenceLogps, tokenLogps } from '../../../src/engine/dpo/logps';
import { Rng } from '../../../src/engine/rng';

const root = tempDir('logps');

/** Random token rows; weights are random too, so log-probs are far from uniform ties. */
function randomIds(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => rng.nextUint32() % vocab);
}

/** Random weights make near-uniform logits; scaling them up makes the test sensitive to every term. */
function sharpen(dir: string) {
  const loaded = readModelWeights(dir);
  for (const [name, w] of loaded.weights) {
    if (!/norm|ln_/.test(name)) w.data.forEach((v, i) => (w.data[i] = v * 15));
  }
  return loaded;
}

const families = [
  { name: 'gpt2', opts: { family: 'gpt2' as const, layers: 2, dModel: 32, heads: 4 } },
  { name: 'llama (GQA, untied)', opts: { family: 'llama' as const, layers: 2, dModel: 32, heads: 4, kvHeads: 2, untiedHead: true } },
  { name: 'qwen2 (q/k/v bias, tied)', opts: { family: 'llama' as const, layers: 2, dModel: 32, heads: 4, kvHeads: 1, qkvBias: true } },
];

describe('response log-probs', () => {
  before(useTestBackend);

  for (const fam of families) {
    it(`${fam.name}: match a naive per-position softmax loop in float64`, async () => {
      const dir = tinyModel(path.join(root, fam.name.replace(/\W+/g, '-')), { ...fam.opts, seed: 3 });
      const { config, weights } = sharpen(dir);
      // Biases start at zero; give them values so the bias paths are checked too.
      const brng = new Rng(9);
      for (const [name, w] of weights) if (name.endsWith('.bias')) w.data.forEach((_, i) => (w.data[i] = brng.normal() * 0.5));
      const { CausalLM } = await import('../../../src/engine/model/transformer');
      const model = new CausalLM(config, weights, false);
      const naive = new NaiveLM(config, weights);
      const rng = new Rng(1);
      const seqs = [
        { promptIds: randomIds(rng, 5, 259), responseIds: randomIds(rng, 7, 259) },
        { promptIds: randomIds(rng, 1, 259), responseIds: randomIds(rng, 3, 259) },
        { promptIds: randomIds(rng, 9, 259), responseIds: randomIds(rng, 11, 259) },
      ];
      const got = await computeSequenceLogps(model, collate(seqs, 0));
      seqs.forEach((s, i) => {
        const want = naive.responseLogp(s.promptIds, s.responseIds);
        assert.ok(Math.abs(got[i] - want) <= 1e-4 * Math.abs(want) + 1e-4, `row ${i}: tfjs ${got[i]} vs naive ${want}`);
      });
      // Sharpened weights give log-probs far from uniform (-ln 259 ≈ -5.56 per token).
      assert.ok(Math.abs(got[0] / 7 + 5.56) > 0.5, `log-probs look uniform: ${got[0] / 7} per token`);
      model.dispose();
    });
  }

  it('sum only response tokens: the prompt positions are masked out', async () => {
    const dir = tinyModel(path.join(root, 'mask'), { seed: 5 });
    const { model } = loadModel(dir, { trainable: false });
    const prompt = [72, 101, 108, 108, 111];
    const response = [32, 119, 111, 114, 108, 100, 256];
    const ids = [...prompt, ...response];
    const perToken = tf.tidy(() => tokenLogps(model, tf.tensor2d([ids], [1, ids.length], 'int32')));
    const all = Array.from(await perToken.data());
    perToken.dispose();
    const responseOnly = all.slice(prompt.length - 1).reduce((a, b) => a + b, 0);
    const everything = all.reduce((a, b) => a + b, 0);
    const [got] = await computeSequenceLogps(model, collate([{ promptIds: prompt, responseIds: response }], 0));
    assert.ok(Math.abs(got - responseOnly) < 1e-4, `${got} vs response-only ${responseOnly}`);
    assert.ok(Math.abs(got - everything) > 1e-2, 'the prompt terms must not be in the sum');
    // Moving the prompt/response boundary changes which terms count.
    const [shifted] = await computeSequenceLogps(model, collate([{ promptIds: prompt.slice(0, 4), responseIds: [prompt[4], ...response] }], 0));
    assert.ok(Math.abs(shifted - (got + all[3])) < 1e-4);
    model.dispose();
  });

  it('padding changes nothing: pad id, pad length and batch neighbours', async () => {
    const dir = tinyModel(path.join(root, 'pad'), { family: 'llama', kvHeads: 2, seed: 6 });
    const { model } = loadModel(dir, { trainable: false });
    const a = { promptIds: [10, 20, 30], responseIds: [40, 50, 256] };
    const long = { promptIds: [1, 2, 3, 4, 5, 6, 7, 8], responseIds: [9, 10, 11, 12, 13, 14, 256] };
    const [alone] = await computeSequenceLogps(model, collate([a], 0));
    const [pad0] = await computeSequenceLogps(model, collate([a], 0, 20));
    const [pad7] = await computeSequenceLogps(model, collate([a], 7, 20));
    assert.equal(pad0, pad7, 'the pad id must not matter at all');
    assert.ok(Math.abs(pad0 - alone) < 1e-5, `padding to 20: ${pad0} vs ${alone}`);
    const [withNeighbour] = await computeSequenceLogps(model, collate([a, long], 3));
    assert.ok(Math.abs(withNeighbour - alone) < 1e-5, `batched: ${withNeighbour} vs ${alone}`);
    model.dispose();
  });
});
