import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CONFIG_FIELDS, CONFIG_SCHEMA, ConfigError, DEFAULT_CONFIG, resolveConfig } from '../../../src/protocol';

describe('run config', () => {
  it('DEFAULT_CONFIG and the JSON schema hold the same defaults, and every field is documented', () => {
    for (const [k, f] of Object.entries(CONFIG_FIELDS)) {
      assert.deepEqual((DEFAULT_CONFIG as unknown as Record<string, unknown>)[k], f.default, k);
      assert.deepEqual((CONFIG_SCHEMA.properties as unknown as Record<string, { default: unknown }>)[k].default, f.default, k);
      assert.ok(f.description.length > 10, `${k} has a description`);
    }
    assert.equal(DEFAULT_CONFIG.beta, 0.1);
    assert.equal(DEFAULT_CONFIG.loss_type, 'sigmoid');
  });

  it('fills defaults and keeps what was given', () => {
    const c = resolveConfig({ model: '/m', data: '/d.jsonl', beta: 0.5 });
    assert.equal(c.beta, 0.5);
    assert.equal(c.learning_rate, DEFAULT_CONFIG.learning_rate);
    assert.equal(c.reference_model, null);
  });

  it('names every bad field, not only the first', () => {
    let err: ConfigError | undefined;
    try {
      resolveConfig({ model: '/m', beta: -1, loss_type: 'kto', batch_size: 2.5, learnig_rate: 1, label_smoothing: 0.1 }, 'run.dpo.json');
    } catch (e) {
      err = e as ConfigError;
    }
    assert.ok(err instanceof ConfigError);
    const fields = err.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['batch_size', 'beta', 'data', 'learnig_rate', 'loss_type'].sort());
    assert.match(err.message, /^run\.dpo\.json: 5 invalid field\(s\):/);
    assert.match(err.message, /loss_type: must be equal to one of the allowed values: \["sigmoid","ipo","hinge","simpo","orpo"[^\]]*\], or a list of \[/);
    assert.match(err.message, /learnig_rate: unknown field/);
  });

  it('cross-field rules: label smoothing is for the sigmoid loss; the prompt limit is below max_length', () => {
    assert.throws(
      () => resolveConfig({ model: '/m', data: '/d', loss_type: 'ipo', label_smoothing: 0.1 }),
      /label_smoothing: applies to loss_type "sigmoid" only/,
    );
    assert.throws(
      () => resolveConfig({ model: '/m', data: '/d', max_length: 64, max_prompt_length: 64 }),
      /max_prompt_length: must be below max_length \(64\)/,
    );
  });
});
