// test/conformance/prune on the embedded engine's RunFolder.writeCheckpoint, and what both engines
// promise about appends: every metrics/pairs/log append is fsync'd before it returns (the torch
// engine's run_folder.py is held to the same in python/tests/test_conformance.py).
import { afterEach, describe, it, mock } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { RunFolder, completeCheckpoints } from '../../../src/node/run-folder';
import { TRAINER_STATE } from '../../../src/protocol';
import { loadCases } from './cases';

// The module object the sources call into (an `import * as` copy cannot be spied on).
const fs = createRequire(__filename)('node:fs') as typeof import('node:fs');

interface PruneCase {
  existing: number[];
  partial?: number[];
  write: number;
  keep: number | null;
  expect_steps: number[];
  expect_partial_left?: number[];
}

const tmpRun = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-durable-')), 'run');

afterEach(() => mock.restoreAll());

for (const doc of loadCases<PruneCase>('prune')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, async () => {
        const dir = tmpRun();
        const folder = new RunFolder(dir);
        for (const s of c.existing) {
          fs.mkdirSync(folder.checkpointDir(s));
          fs.writeFileSync(path.join(folder.checkpointDir(s), 'weights'), String(s));
          fs.writeFileSync(path.join(folder.checkpointDir(s), TRAINER_STATE), '{}');
        }
        for (const s of c.partial ?? []) fs.mkdirSync(folder.checkpointDir(s));
        const rm = mock.method(fs, 'rmSync');
        await folder.writeCheckpoint(c.write, async (tmp) => fs.writeFileSync(path.join(tmp, TRAINER_STATE), '{}'), c.keep);
        assert.deepEqual(
          completeCheckpoints(dir).map((x) => x.step),
          c.expect_steps,
        );
        for (const s of c.expect_partial_left ?? []) assert.ok(fs.existsSync(folder.checkpointDir(s)), `partial step-${s} left alone`);
        // Every recursive delete is of a renamed-away folder (or the fresh temp folder), never of a step-N in place.
        for (const call of rm.mock.calls) assert.doesNotMatch(path.basename(String(call.arguments[0])), /^step-\d+$/, `rmSync(${call.arguments[0]})`);
        fs.rmSync(path.dirname(dir), { recursive: true, force: true });
      });
    }
  });
}

describe('appends are on disk when they return (fsync)', () => {
  it('metrics, pairs and log appends each fsync the file', () => {
    const folder = new RunFolder(tmpRun());
    const sync = mock.method(fs, 'fsyncSync');
    folder.record({ kind: 'warning', step: 1, code: 'data', message: 'm' });
    folder.pairs([{ step: 1, split: 'train', line: 1, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 }]);
    folder.log('a line');
    assert.equal(sync.mock.callCount(), 3);
    fs.rmSync(path.dirname(folder.dir), { recursive: true, force: true });
  });
});
