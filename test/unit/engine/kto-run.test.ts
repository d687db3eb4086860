// A whole KTO run on the embedded engine (mode "kto", a paired file unpaired): TRL's metric names on
// both splits, a pairs.jsonl record per line and label, a flat tensor count, and a stopped run
// resumed from its checkpoint matching an uninterrupted one bit for bit (lines are read in order).
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, useTestBackend } from '../helpers/fixtures';
import { deterministicPart, readJsonl, resumeRun, testRun } from '../helpers/runs';

const root = tempDir('kto-run');
const KTO = { mode: 'kto' as const, max_steps: 6, eval_steps: 3, batch_size: 4, desirable_weight: 1.2, undesirable_weight: 0.9 };

describe('a KTO run', () => {
  before(useTestBackend);

  it("logs KTOTrainer's metrics on both splits and a labeled pairs.jsonl record per line; tensors stay flat", async () => {
    const run = await testRun(root, 'kto', KTO);
    assert.equal(run.result.reason, 'completed');
    const train = run.metrics.filter((m) => 'loss' in m);
    assert.equal(train.length, 6);
    assert.ok(train.every((m) => 'kl' in m && ('rewards/chosen' in m || 'rewards/rejected' in m)));
    // TRL's order puts the chosen responses first: the first batches hold desirable lines only.
    assert.ok('rewards/chosen' in train[0] && 'logits/chosen' in train[0] && !('rewards/rejected' in train[0]));
    assert.ok(train.every((m) => !('rewards/accuracies' in m)));
    assert.ok(run.metrics.some((m) => 'eval_kl' in m && 'eval_rewards/chosen' in m && 'eval_rewards/rejected' in m));
    const counts = train.map((m) => m['memory/num_tensors']);
    assert.ok(
      counts.every((n) => n === counts[0]),
      `tensors per step: ${counts.join(', ')}`,
    );
    const pairs = readJsonl<{ step: number; split: string; line: number; label?: boolean }>(path.join(run.dir, 'pairs.jsonl'));
    const step1 = pairs.filter((p) => p.step === 1 && p.split === 'train');
    assert.equal(step1.length, 4);
    assert.ok(step1.every((p) => typeof p.label === 'boolean'));
    // 24 pairs -> 48 lines in TRL's order (all chosen, then all rejected); the eval split takes 12 of them.
    const evalLines = pairs.filter((p) => p.step === 0 && p.split === 'eval');
    assert.equal(evalLines.length, 12);
  });

  it('resume: a stopped KTO run continued from its checkpoint matches an uninterrupted run bit for bit', async () => {
    const full = await testRun(root, 'kto-full', KTO);
    let steps = 0;
    const first = await testRun(root, 'kto-stopped', KTO, { shouldStop: () => ++steps === 2 });
    assert.equal(first.result.reason, 'stopped');
    const resumed = await resumeRun(first.dir);
    assert.equal(resumed.result.reason, 'completed');
    assert.deepEqual(deterministicPart(readJsonl(path.join(first.dir, 'metrics.jsonl'))), deterministicPart(readJsonl(path.join(full.dir, 'metrics.jsonl'))));
    const bytes = (r: typeof full) => fs.readFileSync(path.join(r.result.finalDir!, 'model.safetensors'));
    assert.deepEqual(bytes(resumed), bytes(full));
  });
});
