// Faults around the run folder (issue #17): never overwrite other files, one writer at a time, no
// dead end after a kill before the first checkpoint, and no NaN model saved.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { makePairs, readJsonl, resumeRun, testRun } from '../helpers/runs';
import { checkNewRunDir, withDefaultOutputDir } from '../../../src/engine/train/output-dir';
import { LOCK_FILE, acquireRunLock } from '../../../src/engine/train/run-lock';

const root = tempDir('faults-run');
const model = tinyModel(path.join(root, 'model'), { layers: 1, dModel: 32, heads: 2, maxPositions: 64, seed: 1 });
const data = makePairs(path.join(root, 'pairs.jsonl'), 24);
const snapshot = (dir: string) =>
  fs
    .readdirSync(dir)
    .sort()
    .map((f) => `${f}:${fs.readFileSync(path.join(dir, f)).toString('base64').slice(0, 64)}`);

describe('run folder faults', () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  before(useTestBackend);

  it('refuses a model folder or a project folder as output, and writes nothing there', async () => {
    const before = snapshot(model);
    await assert.rejects(testRun(root, 'model', {}), /holds other files \(config\.json.*\): a run folder must be new or empty/);
    assert.deepEqual(snapshot(model), before);
    const project = path.join(root, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'config.json'), '{"name": "mine"}');
    assert.throws(() => checkNewRunDir(project), /holds other files \(config\.json\)/);
    assert.deepEqual(fs.readdirSync(project), ['config.json']);
    fs.writeFileSync(path.join(root, 'a-file'), 'x');
    assert.throws(() => checkNewRunDir(path.join(root, 'a-file')), /is a file, not a folder/);
    fs.mkdirSync(path.join(root, 'empty'));
    assert.doesNotThrow(() => checkNewRunDir(path.join(root, 'empty')));
  });

  it('an empty output_dir means .dpo/runs/<mode>-<time> beside the data, not the working folder', () => {
    const v = withDefaultOutputDir({ data, output_dir: '' }, 'dpo');
    assert.match(String(v.output_dir), new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.dpo/runs/dpo-\\d{8}-\\d{6}$`));
    assert.equal(withDefaultOutputDir({ data, output_dir: '/x' }, 'dpo').output_dir, '/x');
  });

  it("one writer per run: a live lock refuses, a dead pid's lock is taken over", () => {
    const dir = path.join(root, 'locked');
    fs.mkdirSync(dir);
    const release = acquireRunLock(dir);
    assert.throws(() => acquireRunLock(dir), new RegExp(`in use by another run \\(pid ${process.pid} on `));
    release();
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
    // A lock left by a process that no longer exists (kill -9): taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead), host: os.hostname(), started: 'then' }));
    const again = acquireRunLock(dir);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
    again();
  });

  it('resume with no complete checkpoint restarts from step 0 instead of refusing', async () => {
    const run = await testRun(root, 'early', { max_steps: 2, save_steps: 100 });
    // What a kill -9 before the first checkpoint leaves: no checkpoint, no final, a half-written metrics file.
    fs.rmSync(path.join(run.dir, 'final'), { recursive: true });
    fs.appendFileSync(path.join(run.dir, 'metrics.jsonl'), '{"step": 1, "lo');
    const again = await resumeRun(run.dir);
    assert.equal(again.result.reason, 'completed');
    assert.equal(again.result.step, 2);
    assert.match(fs.readFileSync(path.join(run.dir, 'log.txt'), 'utf8'), /no complete checkpoint .*restarting from step 0/);
    const records = readJsonl<Record<string, unknown>>(path.join(run.dir, 'metrics.jsonl'));
    const steps = records.filter((m) => m.kind === 'metrics').map((m) => m.step);
    assert.deepEqual(steps, [0, 1, 2, 2], "the first attempt's records are replaced, not doubled");
    const statuses = records.filter((m) => m.kind === 'status').map((m) => m.status);
    assert.deepEqual(statuses, ['running', 'completed'], "one attempt's status records: the killed one's are dropped");
  });

  it('a learning rate that overflows the weights stops the run: no final model, no checkpoint', async () => {
    const dir = path.join(root, 'nan');
    await assert.rejects(
      testRun(root, 'nan', { learning_rate: 1e300, max_steps: 3, save_steps: 1 }),
      /non-finite (weight '[^']+' after the update of step 1|loss|grad_norm)/,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'final')), 'no final model');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')), [], 'no checkpoint of a NaN model');
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'the lock is released on failure');
  });
});
