import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { shortPaths } from '../../../src/node/progress-text';

describe('progress words', () => {
  it('an absolute path in a progress message is cut to its last part', () => {
    assert.equal(shortPaths('loading reference model /tmp/dpo-e2e-metrics-start-KzlX8B/models/tiny'), 'loading reference model tiny');
    assert.equal(shortPaths('loading policy C:\\Users\\me\\models\\gpt2'), 'loading policy gpt2');
    assert.equal(shortPaths('/models/tiny and /data/pairs.jsonl'), 'tiny and pairs.jsonl');
    assert.equal(shortPaths('tokenizing'), 'tokenizing');
    assert.equal(shortPaths('step 3/10'), 'step 3/10', 'a count is not a path');
  });
});
