import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { integralFloatKeys, stringifyKeepingFloats } from '../../../src/engine/model/config-json';

describe('config.json float literals', () => {
  const source = '{"final_logit_softcapping": 30.0, "vocab_size": 32000, "rope_parameters": {"rope_theta": 1e4, "factor": 0.5}, "name": "a\\": 3.0"}';

  it('finds keys whose integral values are written as floats, at any depth, not inside strings', () => {
    assert.deepEqual(integralFloatKeys(source).sort(), ['final_logit_softcapping', 'rope_theta']);
  });

  it('writes those keys back as floats and leaves integers alone', () => {
    const text = stringifyKeepingFloats(JSON.parse(source), integralFloatKeys(source));
    assert.match(text, /"final_logit_softcapping": 30\.0,/);
    assert.match(text, /"rope_theta": 10000\.0,/);
    assert.match(text, /"vocab_size": 32000,/);
    assert.deepEqual(JSON.parse(text), JSON.parse(source));
  });
});
