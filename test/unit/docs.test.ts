// The README documents every command and every run-config field.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKEND_NAMES, CONFIG_FIELDS, CONFIG_SCHEMA, DEFAULT_CONFIG } from '../../src/protocol';
import { buildProgram } from '../../src/cli/main';

const README = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

describe('README', () => {
  it('starts with the two set-up commands, and .ci/run runs exactly the test one', () => {
    const block = /```sh\n([\s\S]*?)```/
      .exec(README)![1]
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    assert.deepEqual(block, ['npm ci && npm run demo', 'npm ci && npm test']);
    const ci = fs.readFileSync(path.resolve(__dirname, '../../../.ci/run'), 'utf8');
    assert.ok(
      ci.split('\n').some((l) => l.trim() === 'npm ci && npm test'),
      '.ci/run calls the README test command',
    );
  });

  it('documents every run-config field', () => {
    for (const field of Object.keys(CONFIG_FIELDS)) assert.ok(README.includes(`| \`${field}\` |`), field);
  });

  it('documents every contributed command and setting', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8'));
    for (const c of pkg.contributes.commands) assert.ok(README.includes(`**DPO: ${c.title}**`), c.title);
    for (const key of Object.keys(pkg.contributes.configuration.properties)) assert.ok(README.includes(`| \`${key}\` |`), key);
  });

  it("the contributed JSON schema is the engine's config schema", () => {
    const file = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../schemas/dpo-config.schema.json'), 'utf8'));
    assert.deepEqual(file, JSON.parse(JSON.stringify(CONFIG_SCHEMA)), 'regenerate schemas/dpo-config.schema.json from CONFIG_SCHEMA');
  });

  it("the settings' defaults agree with the engine's defaults", () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8'));
    assert.equal(pkg.contributes.configuration.properties['dpo.beta'].default, DEFAULT_CONFIG.beta);
    assert.deepEqual(pkg.contributes.configuration.properties['dpo.backend'].enum, ['auto', ...BACKEND_NAMES]);
  });

  it('documents every dpo subcommand', () => {
    for (const cmd of buildProgram().commands.map((c) => c.name())) assert.ok(README.includes(`\`dpo ${cmd}`), cmd);
  });
});
