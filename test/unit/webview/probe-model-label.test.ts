// The probe header's model names: a run's final model and checkpoints by run, other folders by name.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { modelLabel } from '../../../webview/probe/model-label';

describe('probe: model names in the header', () => {
  it('names a run folder by the run and a plain folder by its name', () => {
    assert.equal(modelLabel('/home/me/project/.dpo/runs/dpo-20261203-0819/final'), 'dpo-20261203-0819/final');
    assert.equal(modelLabel('/home/me/project/.dpo/runs/beta-0.5/checkpoints/step-40/'), 'beta-0.5/step-40');
    assert.equal(modelLabel('C:\\models\\Qwen2.5-0.5B-Instruct'), 'Qwen2.5-0.5B-Instruct');
    assert.equal(modelLabel('/models/tiny'), 'tiny');
    assert.equal(modelLabel('final'), 'final');
    assert.equal(modelLabel('/'), '/');
  });
});
