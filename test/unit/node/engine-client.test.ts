// The one engine client (src/node/engine-client.ts) against a fake engine: a small Node script that
// speaks the protocol and misbehaves on request. Each behaviour the CLI and the extension rely on.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineExit, EngineProcess, describeExit, lastLinesText } from '../../../src/node/engine-client';
import { EngineCommand } from '../../../src/node/engine-command';
import { PROTOCOL_VERSION } from '../../../src/protocol';
import { tempDir } from '../helpers/fixtures';

const root = tempDir('engine-client');
const FAKE = path.join(root, 'fake-engine.js');
// argv[2]: the protocol version to announce; "silent-exit" exits 4 and "many" exits 5 after 40
// stderr lines, both before a handshake. Requests: run/start makes config.output_dir and answers
// with it, then sends run/didProgress (the run has claimed the folder); probe/load writes two stderr lines and exits 3 unanswered.
fs.writeFileSync(
  FAKE,
  `
const fs = require('node:fs');
const readline = require('node:readline');
const say = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
process.stderr.write('importing torch (early line)\\n');
if (process.argv[2] === 'silent-exit') process.exit(4);
if (process.argv[2] === 'many') { for (let i = 0; i < 40; i++) process.stderr.write('line ' + i + '\\n'); process.exit(5); }
say({ kind: 'event', type: 'engine/didStart', params: { protocolVersion: Number(process.argv[2]), pid: process.pid } });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const r = JSON.parse(line);
  if (r.type === 'run/start') {
    fs.mkdirSync(r.params.config.output_dir, { recursive: true });
    process.stderr.write('rank 1: a warning from another rank\\n');
    say({ kind: 'reply', id: r.id, ok: true, result: { runDir: r.params.config.output_dir } });
    setTimeout(() => process.stderr.write('rank 0: after the reply\\n'), 20);
    // The run has claimed its folder: its first event.
    setTimeout(() => say({ kind: 'event', type: 'run/didProgress', params: { phase: 'loading', done: 0, total: 1 } }), 60);
  } else if (r.type === 'probe/load') {
    process.stderr.write('Traceback (most recent call last):\\n');
    process.stderr.write('ModuleNotFoundError: No module named jsonschema\\n');
    setTimeout(() => process.exit(3), 20);
  } else say({ kind: 'reply', id: r.id, ok: false, error: 'unknown ' + r.type });
});
`,
);

const fake = (arg: string, command = process.execPath): EngineCommand => ({ engine: 'torch', command, args: [FAKE, arg], env: process.env });
const logged: string[] = [];
const start = (arg: string, command?: string) => new EngineProcess({ command: fake(arg, command), log: (l) => logged.push(l) });
const exitOf = (e: EngineProcess) => new Promise<EngineExit>((resolve) => (e.exited ? resolve(e.exited) : e.onExit(resolve)));

describe('the engine client', () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('resolves the handshake of an engine that speaks this protocol version', async () => {
    const e = start(String(PROTOCOL_VERSION));
    const hello = await e.ready;
    assert.equal(hello.protocolVersion, PROTOCOL_VERSION);
    e.dispose();
  });

  it('refuses an engine of another protocol version, saying which, and stops it', async () => {
    const e = start(String(PROTOCOL_VERSION + 1));
    await assert.rejects(e.ready, new RegExp(`protocol ${PROTOCOL_VERSION + 1}, this program ${PROTOCOL_VERSION}`));
    const x = await exitOf(e);
    assert.equal(x.signal, 'SIGKILL');
  });

  it('fails a pending request with the engine’s last stderr lines when it exits', async () => {
    const e = start(String(PROTOCOL_VERSION));
    await e.ready;
    await assert.rejects(e.request('probe/load', { policyDir: '/m' }), (err: Error) => {
      assert.match(err.message, /exited before answering probe\/load \(exit code 3\)/);
      assert.match(err.message, /Last lines:\n[\s\S]*ModuleNotFoundError: No module named jsonschema/);
      return true;
    });
    assert.equal((await exitOf(e)).code, 3);
    await assert.rejects(e.request('run/stop', {}), /the engine is not running \(exit code 3\)[\s\S]*jsonschema/);
  });

  it('rejects the handshake with the last lines when the engine exits first, and says so when there were none', async () => {
    const e = start('silent-exit');
    await assert.rejects(e.ready, /exited before its handshake \(exit code 4\)\. Last lines:\nimporting torch/);
    assert.equal(lastLinesText([]), 'The engine wrote nothing to stderr.');
    assert.equal(lastLinesText(['', '  ']), 'The engine wrote nothing to stderr.');
    assert.doesNotMatch(lastLinesText([]), /Last lines:\s*$/);
  });

  it('reports an engine that cannot be started (spawn error) instead of throwing', async () => {
    const e = start(String(PROTOCOL_VERSION), path.join(root, 'no-such-python'));
    await assert.rejects(e.ready, /exited before its handshake \(did not start\)\. Last lines:\nfailed to start .*no-such-python: spawn .* ENOENT/);
    await assert.rejects(e.request('run/stop', {}), /not running/);
    assert.ok(logged.some((l) => /failed to start: spawn .* ENOENT/.test(l)));
    assert.equal(describeExit({ code: null, signal: null }), 'did not start');
  });

  it('keeps every stderr line, from before the run folder was known too, in the run’s log.txt', async () => {
    const e = start(String(PROTOCOL_VERSION));
    await e.ready;
    const runDir = path.join(root, 'run-a');
    const r = await e.request('run/start', { mode: 'dpo', config: { output_dir: runDir } });
    assert.equal(r.runDir, runDir);
    // Nothing is written before the run claims the folder: the engine's start check must find it new.
    assert.equal(e.runDir, undefined);
    assert.ok(!fs.existsSync(path.join(runDir, 'log.txt')), 'log.txt written before the run claimed its folder');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(e.runDir, runDir);
    e.closeInput();
    await exitOf(e);
    const log = fs.readFileSync(path.join(runDir, 'log.txt'), 'utf8').trim().split('\n');
    // RunFolder.log's format: an ISO time, then the line.
    assert.deepEqual(
      log.map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '')),
      ['[engine stderr] importing torch (early line)', '[engine stderr] rank 1: a warning from another rank', '[engine stderr] rank 0: after the reply'],
    );
    assert.deepEqual(e.lastLines(), ['importing torch (early line)', 'rank 1: a warning from another rank', 'rank 0: after the reply']);
  });

  it('survives a listener that throws: the failure is logged, requests still work', async () => {
    const e = start(String(PROTOCOL_VERSION));
    e.onEvent(() => {
      throw new RangeError('Invalid count value: -4');
    });
    await e.ready;
    assert.ok(logged.some((l) => /a handler of engine\/didStart failed: RangeError: Invalid count value: -4/.test(l)));
    const runDir = path.join(root, 'run-b');
    assert.equal((await e.request('run/start', { mode: 'dpo', config: { output_dir: runDir } })).runDir, runDir);
    e.closeInput();
    await exitOf(e);
  });

  it('keeps only the last 30 lines for messages', async () => {
    const e = start('many');
    const x = await exitOf(e);
    assert.equal(x.lastLines.length, 30);
    assert.deepEqual([x.lastLines[0], x.lastLines[29]], ['line 10', 'line 39']);
  });
});
