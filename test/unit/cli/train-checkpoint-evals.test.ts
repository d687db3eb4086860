// Evaluate during training end to end on the embedded engine: `dpo train` with checkpoint_eval_prompts
// evaluates each checkpoint and the final model in the background (`dpo eval`'s runEval), into
// eval/checkpoint-<step>/ and eval/final/, and waits for them before it exits.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEvalSummary } from '../../../src/protocol';
import { evaluationRecord, readRunEvaluations } from '../../../src/node/eval/run-evals';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');

describe('dpo train --checkpoint-eval-prompts', { timeout: 300_000 }, () => {
  it('evaluates checkpoints and the final model into eval/, which the metrics panel reads as eval points', () => {
    const root = tempDir('cli-ckeval');
    const model = tinyModel(path.join(root, 'model'), { seed: 1 });
    const data = writeJsonl(
      path.join(root, 'pairs.jsonl'),
      Array.from({ length: 16 }, (_, i) => ({ prompt: `Q${i}:`, chosen: ' yes', rejected: ' no' })),
    );
    const out = path.join(root, 'run');
    const args = ['train', '--model', model, '--data', data, '--out', out, '--max-steps', '4', '--save-steps', '2', '--batch-size', '2'];
    const flags = ['--eval-fraction', '0.25', '--checkpoint-eval-prompts', '2', '--checkpoint-eval-samples', '1', '--checkpoint-eval-max-new-tokens', '4'];
    const r = spawnSync(process.execPath, [BIN, ...args, ...flags], { encoding: 'utf8', env: { ...process.env, DPO_BACKEND: 'wasm' }, timeout: 280_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /evaluated checkpoint-2: KL -?\d/);
    const evals = readRunEvaluations(out);
    assert.deepEqual(
      evals.map((e) => [e.name, e.step]),
      [
        ['checkpoint-2', 2],
        ['final', 4],
      ],
    );
    for (const e of evals) {
      const s = parseEvalSummary(JSON.parse(fs.readFileSync(path.join(e.dir, 'summary.json'), 'utf8')));
      assert.ok(s.ok, s.ok ? '' : s.error);
      assert.equal(s.value.prompts, 2, 'the first checkpoint_eval_prompts held-out prompts');
      assert.equal(s.value.samples, 1);
      assert.equal(evaluationRecord(e)!.values['eval_gen/kl'], s.value.kl);
    }
  });
});
