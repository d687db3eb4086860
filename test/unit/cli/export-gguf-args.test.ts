// `dpo export-gguf`'s flags without the torch env: what reaches the Python converter, and a bad
// --type refused by the CLI before any Python starts. The conversion itself: export-gguf.test.ts.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { exportGgufArgs } from '../../../src/cli/export-gguf';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');

describe('dpo export-gguf flags', () => {
  it('passes absolute paths, the type, the base and --no-modelfile to the converter', () => {
    assert.deepEqual(exportGgufArgs({ model: 'run', out: 'm.gguf', type: 'q8_0', base: 'base', modelfile: false }), [
      '--model',
      path.resolve('run'),
      '--out',
      path.resolve('m.gguf'),
      '--type',
      'q8_0',
      '--base',
      path.resolve('base'),
      '--no-modelfile',
    ]);
    assert.deepEqual(exportGgufArgs({ model: '/a', out: '/b.gguf', type: 'f16', modelfile: true }), ['--model', '/a', '--out', '/b.gguf', '--type', 'f16']);
  });

  it('refuses an unknown --type by name, with exit code 2 and no converter run', () => {
    const r = spawnSync(process.execPath, [BIN, 'export-gguf', '--model', '/nowhere', '--out', '/tmp/x.gguf', '--type', 'q4_k'], {
      encoding: 'utf8',
      env: { ...process.env, DPO_TORCH_ENV: '/nonexistent-torch-env' },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /option '--type <type>' argument 'q4_k' is invalid\. Allowed choices are f32, f16, q8_0/);
  });
});
