// Which folder `dpo serve` loads for the folder it is given, and the engine a run names.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { resolveServedModel } from '../../../src/node/serve/model-folder';

const root = tempDir('serve-folders');
const touch = (file: string, text = '{}') => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};

describe('resolveServedModel', () => {
  it('a model folder and an adapter folder are served as they are, named by the folder', () => {
    touch(path.join(root, 'full', 'config.json'));
    touch(path.join(root, 'lora', 'adapter_config.json'));
    assert.deepEqual(resolveServedModel(path.join(root, 'full')), { id: 'full', modelDir: path.join(root, 'full') });
    assert.equal(resolveServedModel(path.join(root, 'lora')).modelDir, path.join(root, 'lora'));
  });

  it("a run folder serves its final/, else its newest complete checkpoint, with the run's engine", () => {
    const run = path.join(root, 'run-a');
    touch(path.join(run, 'config.json'), JSON.stringify({ engine: 'torch', beta: 0.1 }));
    touch(path.join(run, 'metrics.jsonl'), '');
    for (const step of [2, 4]) {
      touch(path.join(run, 'checkpoints', `step-${step}`, 'config.json'));
      touch(path.join(run, 'checkpoints', `step-${step}`, 'trainer_state.json'));
    }
    touch(path.join(run, 'checkpoints', 'step-6', 'config.json')); // no trainer_state.json: incomplete
    assert.deepEqual(resolveServedModel(run), { id: 'run-a', modelDir: path.join(run, 'checkpoints', 'step-4'), runDir: run, runEngine: 'torch' });
    touch(path.join(run, 'final', 'config.json'));
    assert.equal(resolveServedModel(run).modelDir, path.join(run, 'final'));
    const ckpt = resolveServedModel(path.join(run, 'checkpoints', 'step-2'));
    assert.deepEqual(ckpt, { id: 'step-2', modelDir: path.join(run, 'checkpoints', 'step-2'), runDir: run, runEngine: 'torch' });
    assert.equal(resolveServedModel(path.join(run, 'final')).runEngine, 'torch');
  });

  it('says what is missing: no folder, an empty run, a folder that is neither', () => {
    assert.throws(() => resolveServedModel(path.join(root, 'nope')), /no such folder/);
    touch(path.join(root, 'run-empty', 'metrics.jsonl'), '');
    assert.throws(() => resolveServedModel(path.join(root, 'run-empty')), /no final\/ model and no complete checkpoint/);
    touch(path.join(root, 'notes', 'readme.txt'), 'x');
    assert.throws(() => resolveServedModel(path.join(root, 'notes')), /not a model folder .* and not a run folder/);
  });
});
