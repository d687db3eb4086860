// The README documents every command and every run-config field.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FIELDS } from '../../src/protocol';
import { buildProgram } from '../../src/cli/main';

const README = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

describe('README', () => {
  it('starts with the two set-up commands, and .ci/run runs exactly the test one', () => {
    const block = /```sh\n([\s\S]*?)```/.exec(README)![1].split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
    assert.deepEqual(block, ['npm ci && npm run demo', 'npm ci && npm test']);
    const ci = fs.readFileSync(path.resolve(__dirname, '../../../.ci/run'), 'utf8');
    assert.ok(ci.split('\n').some((l) => l.trim() === 'npm ci && npm test'), '.ci/run calls the README test command');
  });

  it('documents every run-config field', () => {
    for (const field of Object.keys(CONFIG_FIELDS)) assert.ok(README.includes(`| \`${field}\` |`), field);
  });

  it('documents every dpo subcommand', () => {
    for (const cmd of buildProgram().commands.map((c) => c.name())) assert.ok(README.includes(`\`dpo ${cmd}`), cmd);
  });
});
