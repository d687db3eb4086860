import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { NaiveLM } from '../helpers/naive-lm';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { CausalLM } from '../../../src/engine/model/transformer';
import { ScoredPair, scorePairs } from '../../../src/engine/dpo/score-pairs';
import { Rng } from '../../../src/engine/rng';

const root = tempDir('score-pairs');

const ids = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32() % 259);

/** A model with sharpened random weights (log-probs far from uniform) and its float64 oracle. */
function models(name: string, opts: Parameters<typeof tinyModel>[1], finalSoftcap?: number): { model: CausalLM; naive: NaiveLM } {
  const { config, weights } = readModelWeights(tinyModel(path.join(root, name), opts));
  for (const [n, w] of weights) if (!/norm|ln_/.test(n)) w.data.forEach((v, i) => (w.data[i] = v * 15));
  const c = finalSoftcap === undefined ? config : { ...config, finalSoftcap };
  return { model: new CausalLM(c, weights, false), naive: new NaiveLM(config, weights) };
}

/** Pairs whose chosen and rejected lengths differ a lot, so the two scorers batch them differently. */
function pairs(seed: number): ScoredPair[] {
  const rng = new Rng(seed);
  const lens = [
    [3, 1, 17],
    [1, 9, 2],
    [7, 5, 5],
    [2, 21, 4],
    [5, 3, 12],
    [4, 1, 1],
    [6, 14, 8],
  ];
  return lens.map(([p, c, r]) => ({ promptIds: ids(rng, p), chosenIds: ids(rng, c), rejectedIds: ids(rng, r) }));
}

const close = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want), `${what}: ${got} vs ${want} (|Δ| ${Math.abs(got - want)})`);

describe('forward-only pair scoring (score-pairs.ts)', () => {
  before(useTestBackend);

  const families = [
    { name: 'gpt2', opts: { family: 'gpt2' as const, layers: 2, dModel: 32, heads: 4, seed: 3 } },
    { name: 'llama-gqa', opts: { family: 'llama' as const, layers: 2, dModel: 32, heads: 4, kvHeads: 2, untiedHead: true, seed: 4 } },
  ];
  for (const fam of families) {
    it(`${fam.name}: the sequence scorer gives each pair the per-row scorer's log-probs (1e-5 relative) and the float64 loop's (1e-4)`, async () => {
      const { model, naive } = models(fam.name, fam.opts);
      try {
        const ps = pairs(1);
        const tensors = tf.memory().numTensors;
        // Batches of 2 pairs (4 rows) and chunks of 5 head positions: responses straddle chunk edges.
        const now = await scorePairs(model, ps, { batchSize: 2, padId: 0, rowsPerChunk: 5 });
        assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
        const before = await scorePairs(model, ps, { batchSize: 2, padId: 0, scorer: 'per-row' });
        ps.forEach((p, i) => {
          close(now[i][0], before[i][0], 1e-5, `pair ${i} chosen`);
          close(now[i][1], before[i][1], 1e-5, `pair ${i} rejected`);
          close(now[i][0], naive.responseLogp(p.promptIds, p.chosenIds), 1e-4, `pair ${i} chosen (float64)`);
          close(now[i][1], naive.responseLogp(p.promptIds, p.rejectedIds), 1e-4, `pair ${i} rejected (float64)`);
        });
        // The default chunking and batch size give the same numbers.
        const whole = await scorePairs(model, ps, { batchSize: 8, padId: 3 });
        ps.forEach((_, i) => close(whole[i][0], now[i][0], 1e-5, `pair ${i}, one batch`));
        assert.ok(Math.abs(now[0][0] / 17 + 5.56) > 0.5, 'log-probs look uniform: the check would be weak');
      } finally {
        model.dispose();
      }
    });
  }

  it('an empty prompt scores the response from its second token, as the per-row path; the final soft-cap is applied', async () => {
    const { model } = models('softcap', { family: 'llama', layers: 1, dModel: 32, heads: 4, seed: 5 }, 3);
    try {
      const rng = new Rng(2);
      const ps = [
        { promptIds: [], chosenIds: ids(rng, 6), rejectedIds: ids(rng, 1) },
        { promptIds: ids(rng, 2), chosenIds: ids(rng, 4), rejectedIds: ids(rng, 9) },
      ];
      const now = await scorePairs(model, ps, { batchSize: 1, padId: 0, rowsPerChunk: 3 });
      const before = await scorePairs(model, ps, { batchSize: 2, padId: 0, scorer: 'per-row' });
      ps.forEach((_, i) => [0, 1].forEach((k) => close(now[i][k], before[i][k], 1e-5, `pair ${i}.${k}`)));
      assert.equal(now[0][1], 0, 'a one-token response after an empty prompt has nothing scored');
      // With the cap every logit is within ±3, so no token's log-prob is below -6 - ln(259).
      assert.ok(now[1][1] / 9 > -6 - Math.log(259), `cap not applied: ${now[1][1] / 9} per token`);
    } finally {
      model.dispose();
    }
  });
});
