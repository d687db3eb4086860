// The learning rate New Training Run suggests for a model's size, with its reason.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { countParameters, defaultLearningRate, embeddedLoraOffered } from '../../../src/node/model-size';
import { tempDir, tinyModel } from '../helpers/fixtures';

describe('defaultLearningRate', () => {
  it('is large for tiny models, TRL-like for large ones, and names the size in its reason', () => {
    assert.deepEqual(
      [133_056, 9.9e6, 10e6, 124e6, 999e6, 1e9, 7e9].map((n) => defaultLearningRate(n).value),
      [5e-4, 5e-4, 5e-6, 5e-6, 5e-6, 1e-6, 1e-6],
    );
    assert.match(defaultLearningRate(133_056).why, /^133K parameters: a tiny model/);
    assert.match(defaultLearningRate(124e6).why, /^124\.0M parameters/);
    assert.match(defaultLearningRate(7e9).why, /^7\.0B parameters: TRL’s default/);
  });

  it('falls back to TRL’s 1e-6 when the size is unknown', () => {
    assert.equal(defaultLearningRate(undefined).value, 1e-6);
    assert.match(defaultLearningRate(undefined).why, /unknown/);
  });

  it('suggests 5e-4 for the tiny model that Make Tiny Model writes (its safetensors header counted)', () => {
    const model = tinyModel(path.join(tempDir('lr'), 'm'));
    assert.equal(defaultLearningRate(countParameters(model)).value, 5e-4);
  });
});

describe('embeddedLoraOffered', () => {
  it('asks about LoRA on the embedded engine only above ~20M parameters (where full DPO outgrows the 4 GiB heap)', () => {
    assert.deepEqual(
      [undefined, 133_056, 20e6, 20.1e6, 124.4e6].map((n) => embeddedLoraOffered(n)),
      [false, false, false, true, true],
    );
    // The tiny model New Training Run is tested with gets no extra question.
    assert.equal(embeddedLoraOffered(countParameters(tinyModel(path.join(tempDir('lora-ask'), 'm')))), false);
  });
});
