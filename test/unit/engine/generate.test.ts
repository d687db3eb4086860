import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { generate } from '../../../src/engine/probe/generate';
import { filteredDistribution, sampleToken } from '../../../src/engine/probe/sampling';
import { preferenceProbability, scoreResponse } from '../../../src/engine/probe/reward';
import { collate } from '../../../src/engine/data/batch';
import { computeSequenceLogps } from '../../../src/engine/dpo/logps';
import { Rng } from '../../../src/engine/rng';

const root = tempDir('generate');

describe('generation and implicit rewards', () => {
  before(useTestBackend);

  for (const [name, opts] of [
    ['gpt2', { family: 'gpt2' as const }],
    ['llama (GQA)', { family: 'llama' as const, kvHeads: 2 }],
  ] as const) {
    it(`${name}: the KV cache gives the same greedy tokens and log-probs as a full forward per token`, async () => {
      const dir = tinyModel(path.join(root, name.replace(/\W+/g, '-')), { ...opts, layers: 2, dModel: 32, heads: 4, seed: 5 });
      const { model } = loadModel(dir, { trainable: false });
      const tok = loadTokenizer(dir);
      const prompt = tok.encode('Once upon a time');
      const before = tf.memory().numTensors;
      const cached = await generate(model, tok, prompt, { maxNewTokens: 12, useCache: true });
      assert.equal(tf.memory().numTensors, before, 'the cache is freed after generation');
      const full = await generate(model, tok, prompt, { maxNewTokens: 12, useCache: false });
      assert.deepEqual(cached.ids, full.ids);
      assert.equal(cached.ids.length, 12);
      cached.tokens.forEach((t, i) => assert.ok(Math.abs(t.logprob - full.tokens[i].logprob) < 1e-4, `token ${i}: ${t.logprob} vs ${full.tokens[i].logprob}`));
      // And the generated tokens' log-probs are what scoring the finished text gives.
      const [sum] = await computeSequenceLogps(model, collate([{ promptIds: prompt, responseIds: cached.ids }], 0));
      assert.ok(Math.abs(sum - cached.tokens.reduce((a, t) => a + t.logprob, 0)) < 1e-3);
      model.dispose();
    });
  }

  it('sampling filters keep exactly the tokens they should', () => {
    const logits = [2, 1, 0.5, 3, -1, 0];
    // softmax order: 3 (id 3), 2 (id 0), 1 (id 1), 0.5 (id 2), 0 (id 5), -1 (id 4)
    assert.deepEqual(filteredDistribution(logits, { temperature: 1, topK: 2, topP: 1 }).ids, [3, 0]);
    const probs = filteredDistribution(logits, { temperature: 1, topK: 0, topP: 1 }).probs;
    const p0 = probs[0];
    const p01 = probs[0] + probs[1];
    assert.deepEqual(filteredDistribution(logits, { temperature: 1, topK: 0, topP: p0 - 1e-9 }).ids, [3], 'p below the top token keeps only it');
    assert.deepEqual(filteredDistribution(logits, { temperature: 1, topK: 0, topP: p0 + 1e-9 }).ids, [3, 0]);
    assert.deepEqual(filteredDistribution(logits, { temperature: 1, topK: 0, topP: p01 + 1e-9 }).ids, [3, 0, 1]);
    const kept = filteredDistribution(logits, { temperature: 1, topK: 3, topP: 0.9 });
    assert.ok(Math.abs(kept.probs.reduce((a, b) => a + b, 0) - 1) < 1e-12, 'renormalised');
    const hot = filteredDistribution(logits, { temperature: 100, topK: 0, topP: 1 }).probs;
    assert.ok(Math.max(...hot) - Math.min(...hot) < 0.02, 'a high temperature flattens the distribution');
    assert.equal(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, new Rng(1)), 3, 'temperature 0 is argmax');
    const rng = new Rng(4);
    for (let i = 0; i < 200; i++) assert.ok([3, 0].includes(sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng)));
  });

  it('a seed reproduces a sample; another seed gives another', async () => {
    const dir = path.join(root, 'gpt2');
    const { model } = loadModel(dir, { trainable: false });
    const tok = loadTokenizer(dir);
    const prompt = tok.encode('Hello');
    const a = await generate(model, tok, prompt, { maxNewTokens: 16, temperature: 1, seed: 7 });
    const b = await generate(model, tok, prompt, { maxNewTokens: 16, temperature: 1, seed: 7 });
    const c = await generate(model, tok, prompt, { maxNewTokens: 16, temperature: 1, seed: 8 });
    assert.deepEqual(a.ids, b.ids);
    assert.notDeepEqual(a.ids, c.ids);
    model.dispose();
  });

  it('stops at a stop string, at the token limit, and when cancelled', async () => {
    const dir = path.join(root, 'gpt2');
    const { model } = loadModel(dir, { trainable: false });
    const tok = loadTokenizer(dir);
    const prompt = tok.encode('Hello');
    const free = await generate(model, tok, prompt, { maxNewTokens: 10, temperature: 1, seed: 3 });
    assert.equal(free.reason, 'length');
    const stopAt = free.text.slice(3, 5);
    const stopped = await generate(model, tok, prompt, { maxNewTokens: 10, temperature: 1, seed: 3, stop: [stopAt] });
    assert.equal(stopped.reason, 'stop');
    assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stopAt)));
    let n = 0;
    const cancelled = await generate(model, tok, prompt, { maxNewTokens: 10 }, { onToken: () => n++, shouldStop: () => n >= 3 });
    assert.equal(cancelled.reason, 'cancelled');
    assert.equal(cancelled.ids.length, 3);
    model.dispose();
  });

  it('per-token implicit rewards sum to the sequence reward β·(log πθ − log πref)', async () => {
    const policyDir = tinyModel(path.join(root, 'policy'), { seed: 1 });
    const refDir = tinyModel(path.join(root, 'ref'), { seed: 2 });
    const { model: policy } = loadModel(policyDir, { trainable: false });
    const { model: ref } = loadModel(refDir, { trainable: false });
    const tok = loadTokenizer(policyDir);
    const prompt = tok.encode('Q: sky?\nA:');
    const response = [...tok.encode(' blue.'), 256];
    const s = await scoreResponse(policy, ref, prompt, response, 0.1);
    assert.equal(s.tokens.length, response.length);
    const sum = s.tokens.reduce((a, t) => a + t.reward, 0);
    assert.ok(Math.abs(sum - s.reward) < 1e-6);
    const batch = collate([{ promptIds: prompt, responseIds: response }], 0);
    const [lp] = await computeSequenceLogps(policy, batch);
    const [lr] = await computeSequenceLogps(ref, batch);
    assert.ok(Math.abs(s.reward - 0.1 * (lp - lr)) < 1e-4, `${s.reward} vs ${0.1 * (lp - lr)}`);
    assert.ok(Math.abs(s.reward) > 1e-3, 'different models give a non-zero reward');
    assert.equal(preferenceProbability(0), 0.5);
    assert.ok(Math.abs(preferenceProbability(2) - 0.8807970779778823) < 1e-12);
    policy.dispose();
    ref.dispose();
  });
});
