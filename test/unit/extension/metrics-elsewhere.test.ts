// A run that no engine of this window drives (a terminal's `dpo train`): the metrics panel shows it
// running while its writer lives, with the phase words from progress.json, which `dpo train` writes
// while it runs and removes at the end.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';
import { elsewhereProgress, elsewhereStatus } from '../../../src/extension/metrics-elsewhere';
import { ProgressFileWriter, readProgressFile } from '../../../src/node/progress-file';
import { ProgressFile, RUN_FILES, StatusRecord, parseProgressFile } from '../../../src/protocol';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('metrics-elsewhere');
const running: StatusRecord = { kind: 'status', status: 'running', step: 0, total_steps: 8, time: '2026-12-04T00:00:00Z', engine: 'tfjs', device: 'wasm' };

function lock(dir: string, pid: number, host = os.hostname()): void {
  fs.writeFileSync(path.join(dir, RUN_FILES.lock), JSON.stringify({ pid, host, started: new Date().toISOString() }) + '\n');
}

describe('a run written by another process, as the metrics panel shows it', () => {
  it('running only while the process holding run.lock lives; how it ended from its status record', () => {
    const dir = fs.mkdtempSync(path.join(root, 'status-'));
    assert.equal(elsewhereStatus(dir, running, false), 'ended', 'no lock: a killed run or a copied folder');
    lock(dir, process.pid);
    assert.equal(elsewhereStatus(dir, running, false), 'running');
    assert.equal(elsewhereStatus(dir, undefined, false), 'starting', 'no status record yet');
    assert.equal(elsewhereStatus(dir, { ...running, status: 'completed' }, true), 'completed');
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    lock(dir, dead);
    assert.equal(elsewhereStatus(dir, running, false), 'ended', 'the writer died (kill -9): not running');
    lock(dir, dead, 'another-host');
    assert.equal(elsewhereStatus(dir, running, false), 'running', "another host's writer cannot be checked");
  });

  it('progress.json: written whole, read back as phase words and a bar, removed when the run ends', () => {
    const dir = fs.mkdtempSync(path.join(root, 'progress-'));
    const writer = new ProgressFileWriter(dir);
    writer.update('reference', 3, 10, 'policy /tmp/models/tiny');
    assert.deepEqual(
      { ...readProgressFile(dir), time: undefined },
      { phase: 'reference', done: 3, total: 10, message: 'policy /tmp/models/tiny', time: undefined },
    );
    assert.deepEqual(elsewhereProgress(dir, 'running', false), {
      starting: 'precomputing reference log-probs policy tiny 3/10…',
      progress: { text: 'precomputing reference log-probs policy tiny', done: 3, total: 10 },
    });
    writer.update('training', 4, 8);
    assert.deepEqual(elsewhereProgress(dir, 'running', true), { progress: { text: 'training', done: 4, total: 8 } });
    assert.deepEqual(elsewhereProgress(dir, 'ended', true), {}, 'an ended run has no phase line, whatever the file says');
    writer.close();
    assert.equal(fs.existsSync(path.join(dir, RUN_FILES.progress)), false);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('a torn or foreign progress.json is no progress, never a throw', () => {
    const dir = fs.mkdtempSync(path.join(root, 'bad-'));
    for (const text of [
      '{"phase":"training","done":1',
      '[]',
      '{"phase":"warp","done":1,"total":2,"time":"t"}',
      '{"phase":"training","done":-1,"total":2,"time":"t"}',
    ]) {
      fs.writeFileSync(path.join(dir, RUN_FILES.progress), text);
      assert.equal(readProgressFile(dir), undefined, text);
    }
    assert.equal(parseProgressFile({ phase: 'saving', done: 1, total: 1, time: 't', message: 3 }).ok, false);
  });

  it('`dpo train` writes progress.json while it runs and leaves none behind', async () => {
    const model = tinyModel(path.join(root, 'model'));
    const data = writeJsonl(
      path.join(root, 'train.jsonl'),
      Array.from({ length: 8 }, (_, i) => ({ prompt: `p${i}`, chosen: ' good', rejected: ' bad' })),
    );
    const out = path.join(root, 'run');
    const child = spawn(process.execPath, [
      BIN,
      'train',
      '--model',
      model,
      '--data',
      data,
      '--out',
      out,
      '--max-steps',
      '4',
      '--batch-size',
      '2',
      '--eval-fraction',
      '0',
    ]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const seen = new Set<ProgressFile['phase']>();
    const timer = setInterval(() => {
      const p = readProgressFile(out);
      if (p) seen.add(p.phase);
    }, 10);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(timer);
    assert.equal(code, 0, stderr);
    assert.ok(seen.size > 0, 'progress.json was read while the run went');
    assert.equal(fs.existsSync(path.join(out, RUN_FILES.progress)), false, 'removed at the end');
  });
});
