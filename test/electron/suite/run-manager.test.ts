/// <reference types="mocha" />
// The run manager against real child processes that misbehave (test/electron/fixtures/fake-engine.js):
// a crash is explained with the engine's last lines, malformed output is ignored, a stop that
// never completes ends in a kill, and a protocol mismatch is refused.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { RunManager, RunError } from '../../../src/extension/run-manager';

const FAKE = path.resolve(__dirname, '../../../../test/electron/fixtures/fake-engine.js');

function manager(mode: string, log: string[], stopTimeoutSeconds = 30): RunManager {
  process.env.FAKE_ENGINE_MODE = mode;
  return new RunManager({ enginePath: FAKE, log: (l) => log.push(l), settings: () => ({ nodePath: '', backend: null, stopTimeoutSeconds }) });
}

const config = { model: '/m', data: '/d.jsonl', output_dir: '/tmp/dpo-fake-run' };

describe('run manager with a misbehaving engine', () => {
  it('a crash ends the run as failed, with the exit code and the last stderr lines', async () => {
    const log: string[] = [];
    const runs = manager('crash', log);
    const s = await runs.start('dpo', config);
    const end = await s.ended;
    assert.equal(end.status, 'failed');
    assert.match(end.message!, /the engine exit code 3/);
    assert.match(end.message!, /FATAL: simulated crash in the engine/);
    runs.dispose();
  });

  it('malformed lines from the engine are logged and ignored; the run still completes', async () => {
    const log: string[] = [];
    const runs = manager('garbage', log);
    const s = await runs.start('dpo', config);
    const end = await s.ended;
    assert.equal(end.status, 'completed');
    assert.ok(
      log.some((l) => /ignored a malformed line from the engine \(not JSON/.test(l)),
      log.join('\n'),
    );
    assert.ok(log.some((l) => /unknown event type "run\/didExplode"/.test(l)));
    assert.ok(log.some((l) => /run\/didLogMetrics: params\.record must be a record of numbers/.test(l)));
    assert.equal(s.lastMetrics?.values.loss, 0.69, 'the well-formed metrics line was used');
    runs.dispose();
  });

  it('a stop that never completes is killed after the timeout', async () => {
    const runs = manager('hang', [], 1);
    const s = await runs.start('dpo', config);
    const end = await runs.stop(s);
    assert.equal(end.status, 'killed');
    assert.match(end.message!, /killed by SIGKILL/);
    runs.dispose();
  });

  it('an engine speaking another protocol version is refused', async () => {
    const runs = manager('version', []);
    await assert.rejects(runs.start('dpo', config), (err: Error) => err instanceof RunError && /protocol 999/.test(err.message));
    runs.dispose();
  });

  it('a bad config never starts a process', async () => {
    const runs = manager('crash', []);
    await assert.rejects(runs.start('dpo', { ...config, beta: 0 }), /beta: must be > 0/);
    assert.equal(runs.all().length, 0);
    runs.dispose();
  });
});
