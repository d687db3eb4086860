// `dpo train --engine torch` through the shared engine client, against a fake torch environment
// (DPO_TORCH_ENV whose bin/python is a small Node script speaking the protocol): an engine that dies
// mid-run is reported with its last lines (or says it wrote none), and its stderr is in log.txt.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { makePairs } from '../helpers/runs';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('cli-torch-fake');
const env = path.join(root, 'env');
const FAKE = path.join(root, 'fake-engine.js');
fs.mkdirSync(path.join(env, 'bin'), { recursive: true });
// FAKE_STDERR: lines to write after answering run/start, before exiting 1 without finishing the run;
// FAKE_CLAIM: send a run event first (the run has claimed its folder, as both engines do once they check it).
fs.writeFileSync(
  FAKE,
  `
const fs = require('node:fs');
const readline = require('node:readline');
const say = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
say({ kind: 'event', type: 'engine/didStart', params: { protocolVersion: 1, pid: process.pid, engine: 'torch', device: 'cpu' } });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const r = JSON.parse(line);
  if (r.type !== 'run/start') return say({ kind: 'reply', id: r.id, ok: false, error: 'unexpected ' + r.type });
  fs.mkdirSync(r.params.config.output_dir, { recursive: true });
  say({ kind: 'reply', id: r.id, ok: true, result: { runDir: r.params.config.output_dir } });
  if (process.env.FAKE_CLAIM) say({ kind: 'event', type: 'run/didLog', params: { line: 'starting dpo run' } });
  for (const l of (process.env.FAKE_STDERR || '').split('|').filter(Boolean)) process.stderr.write(l + '\\n');
  setTimeout(() => process.exit(1), 50);
});
`,
);
fs.writeFileSync(path.join(env, 'bin', 'python'), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}"\n`, { mode: 0o755 });
const model = tinyModel(path.join(root, 'model'), { layers: 1, dModel: 16, heads: 2, maxPositions: 32, seed: 1 });
const data = makePairs(path.join(root, 'pairs.jsonl'), 4);

function train(out: string, stderr: string, claim = true) {
  const r = spawnSync(process.execPath, [BIN, 'train', '--engine', 'torch', '--model', model, '--data', data, '--out', out, '--max-steps', '2'], {
    encoding: 'utf8',
    env: { ...process.env, DPO_TORCH_ENV: env, FAKE_STDERR: stderr, ...(claim ? { FAKE_CLAIM: '1' } : {}) },
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr };
}

describe('dpo train --engine torch when the engine dies', { skip: process.platform === 'win32' ? 'a shell-script interpreter' : false }, () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('says so with the engine’s last lines and the resume command, and keeps them in log.txt', () => {
    const out = path.join(root, 'run-a');
    const r = train(out, 'rank 1: Traceback (most recent call last):|rank 1: RuntimeError: gloo collective failed');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`dpo: the torch engine stopped during the run \\(exit code 1\\); resume with --resume ${out}\\. Last lines:\\n`));
    assert.match(r.stderr, /rank 1: RuntimeError: gloo collective failed\s*$/);
    const log = fs.readFileSync(path.join(out, 'log.txt'), 'utf8');
    assert.match(log, /\[engine stderr\] rank 1: Traceback \(most recent call last\):\n.*\[engine stderr\] rank 1: RuntimeError: gloo collective failed\n$/);
  });

  it('writes nothing into the folder of a run that never claimed it (its lines are in the message)', () => {
    const out = path.join(root, 'run-unclaimed');
    const r = train(out, 'ImportError: no torch', false);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ImportError: no torch\s*$/);
    assert.deepEqual(fs.readdirSync(out), [], 'a log.txt here would make the next start refuse the folder');
  });

  it('says the engine wrote nothing rather than ending in an empty "Last lines:"', () => {
    const r = train(path.join(root, 'run-b'), '');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\(exit code 1\); resume with --resume .*\. The engine wrote nothing to stderr\.\n$/);
    assert.doesNotMatch(r.stderr, /Last lines:\s*$/);
  });
});
