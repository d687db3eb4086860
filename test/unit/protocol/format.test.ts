import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { formatDuration, timeStamp } from '../../../src/protocol';
import { readRunConfigFile } from '../../../src/node/config-file';

describe('shared formats and the run config file', () => {
  it('durations and time stamps', () => {
    assert.deepEqual([0, 59.4, 185, 7620].map(formatDuration), ['0s', '59s', '3m05s', '2h07m']);
    assert.equal(formatDuration(undefined), '');
    assert.equal(formatDuration(Infinity), '');
    assert.equal(timeStamp(new Date('2026-11-22T21:35:40.123Z')), '20261122-213540');
  });

  it('a run config file: $schema dropped, paths resolved against its folder, clear errors', () => {
    const dir = tempDir('config-file');
    const file = path.join(dir, 'run.dpo.json');
    fs.writeFileSync(file, JSON.stringify({ $schema: 'x', model: 'models/tiny', data: '/abs/pairs.jsonl', reference_model: null, beta: 0.2 }));
    assert.deepEqual(readRunConfigFile(file), { model: path.join(dir, 'models/tiny'), data: '/abs/pairs.jsonl', reference_model: null, beta: 0.2 });
    fs.writeFileSync(file, '{"model": ');
    assert.throws(() => readRunConfigFile(file), /run\.dpo\.json: invalid JSON/);
    fs.writeFileSync(file, '[1]');
    assert.throws(() => readRunConfigFile(file), /run\.dpo\.json: a run config must be a JSON object/);
    assert.throws(() => readRunConfigFile(path.join(dir, 'missing.dpo.json')), /missing\.dpo\.json: not found/);
  });
});
