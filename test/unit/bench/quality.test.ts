import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { sampleCompletions } from '../../../src/engine/probe/sample-batch';
import { collate } from '../../../src/engine/data/batch';
import { computeSequenceLogps } from '../../../src/engine/dpo/logps';
import { selectBackend } from '../../../src/engine/backend';
import { LEXICON, TASK_WORDS, sampleReviews, trueReward } from '../../../bench/quality/task';
import { runQuality } from '../../../bench/quality/pipeline';
import { QUALITY } from '../../../bench/quality';

const root = tempDir('quality');

describe('quality benchmark task', () => {
  before(useTestBackend);

  it('the true reward is the lexicon sum over words, whatever the punctuation and case', () => {
    assert.equal(trueReward(' and the plot was Superb, the cast was awful.'), LEXICON.superb + LEXICON.awful);
    assert.equal(trueReward('the film was great. the music was great but the ending was dull'), 2 + 2 - 1);
    assert.equal(trueReward('the superbly plotted film'), 0, 'only whole words score');
  });

  it('reviews are reproducible from the seed and every word is one token of the task tokenizer', () => {
    assert.deepEqual(sampleReviews(5, 3), sampleReviews(5, 3));
    assert.notDeepEqual(sampleReviews(5, 3), sampleReviews(5, 4));
    const dir = tinyModel(path.join(root, 'words'), { words: TASK_WORDS });
    const tok = loadTokenizer(dir);
    for (const r of sampleReviews(20, 1)) {
      const text = r.prompt + r.completion;
      const words = text.slice(text.indexOf(' ')).match(/ [a-z]+/g)!;
      const tokens = tok.tokens(text.slice(text.indexOf(' ')));
      for (const w of words) assert.ok(tokens.includes('Ġ' + w.slice(1)), `"${w}" is one token in ${tokens.join('|')}`);
      assert.equal(tok.decode(tok.encode(text)), text);
    }
  });

  it('batched samples carry the model log-prob of their tokens, end with EOS when finished, and free their tensors', async () => {
    const dir = tinyModel(path.join(root, 'sample'), { layers: 2, dModel: 32, heads: 4, seed: 3 });
    const { model } = loadModel(dir);
    const tok = loadTokenizer(dir);
    const promptIds = tok.encode('the plot was');
    const before = tf.memory().numTensors;
    const samples = await sampleCompletions(model, tok, promptIds, 6, { temperature: 1, topK: 0, topP: 1, maxNewTokens: 12, seed: 9 });
    assert.equal(tf.memory().numTensors, before);
    const again = await sampleCompletions(model, tok, promptIds, 6, { temperature: 1, topK: 0, topP: 1, maxNewTokens: 12, seed: 9 });
    assert.deepEqual(
      again.map((s) => s.ids),
      samples.map((s) => s.ids),
      'a seed reproduces the samples',
    );
    assert.ok(new Set(samples.map((s) => s.ids.join(','))).size > 1, 'rows draw separately');
    const scored = await computeSequenceLogps(
      model,
      collate(
        samples.map((s) => ({ promptIds, responseIds: s.ids })),
        tok.padId!,
      ),
    );
    samples.forEach((s, i) => {
      assert.ok(Math.abs(s.logprob - scored[i]) < 1e-3 * Math.max(1, Math.abs(scored[i])), `row ${i}: ${s.logprob} vs ${scored[i]}`);
      assert.equal(s.finished, s.ids[s.ids.length - 1] === tok.eosId);
      if (!s.finished) assert.equal(s.ids.length, 12);
    });
    model.dispose();
  });

  it('DPO on pairs labeled by the true reward raises the true reward of samples above the SFT model (small run)', async () => {
    const logs: string[] = [];
    const result = await runQuality({
      ...QUALITY,
      backend: await selectBackend('wasm'),
      outDir: path.join(root, 'run'),
      sftReviews: 1000,
      sft: { ...QUALITY.sft, num_train_epochs: 2 },
      pairPrompts: 200,
      betas: [0.1],
      dpo: { ...QUALITY.dpo, learning_rate: 1e-3, num_train_epochs: 2 },
      preferredFt: { ...QUALITY.preferredFt, num_train_epochs: 1 },
      evalPrompts: 16,
      log: (l) => logs.push(l),
    });
    const sft = result.policies.find((p) => p.method === 'SFT')!;
    const dpo = result.policies.filter((p) => p.method === 'DPO').pop()!;
    assert.ok(Math.abs(sft.kl) < 1e-3, `the SFT model's KL to itself is ${sft.kl}`);
    assert.ok(result.pairs.written > 150, `${result.pairs.written} pairs`);
    assert.ok(dpo.kl > 0, `KL after DPO ${dpo.kl}`);
    assert.ok(
      dpo.reward > sft.reward + 1 && dpo.reward - 3 * dpo.rewardSe > sft.reward + 3 * sft.rewardSe,
      `true reward SFT ${sft.reward} ± ${sft.rewardSe}, DPO ${dpo.reward} ± ${dpo.rewardSe}\n${logs.join('\n')}`,
    );
  });
});
