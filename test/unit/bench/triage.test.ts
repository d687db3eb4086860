import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { tempDir, useTestBackend } from '../helpers/fixtures';
import { selectBackend } from '../../../src/engine/backend';
import { trueReward } from '../../../bench/quality/task';
import { flipKnown, runTriageBench, truePairs } from '../../../bench/quality/triage';
import { TRIAGE_BENCH } from '../../../bench/triage';

const root = tempDir('triage-bench');

describe('triage on the quality task (known true reward, 20% of labels flipped on purpose)', () => {
  before(useTestBackend);

  it('pairs are labeled by the true reward and exactly the chosen share is flipped', () => {
    const pairs = truePairs(200, 1);
    assert.ok(pairs.every((p) => trueReward(p.chosen) > trueReward(p.rejected)));
    const { noisy, flipped } = flipKnown(pairs, 0.2, 3);
    assert.equal(flipped.size, Math.round(0.2 * pairs.length));
    noisy.forEach((p, i) => assert.equal(trueReward(p.chosen) < trueReward(p.rejected), flipped.has(i + 1)));
  });

  it('the top 20% of the triage queue is mostly flipped pairs, and relabeling them beats the noisy run', async () => {
    const logs: string[] = [];
    const r = await runTriageBench({
      ...TRIAGE_BENCH,
      backend: await selectBackend('wasm'),
      outDir: path.join(root, 'run'),
      sftReviews: 1000,
      pairPrompts: 300,
      withCheckpoints: false,
      clean: false,
      evalPrompts: 24,
      log: (l) => logs.push(l),
    });
    const why = `\n${logs.join('\n')}`;
    assert.ok(r.precision >= 0.5, `precision ${r.precision} < 0.5${why}`);
    const noisy = r.policies.find((p) => p.name.includes('noisy'))!;
    const relabeled = r.policies.find((p) => p.name.includes('relabeled'))!;
    assert.ok(relabeled.labelNoise < noisy.labelNoise, why);
    assert.ok(relabeled.reward > noisy.reward, `true reward relabeled ${relabeled.reward} vs noisy ${noisy.reward}${why}`);
  });
});
