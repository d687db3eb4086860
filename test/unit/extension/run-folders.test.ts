import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { listRunFolders, metricsCsv, parseJsonLines, readPairs, readRunFolder, readWarnings } from '../../../src/extension/run-folders';

const root = tempDir('run-folders');

describe('reading run folders (host side, no engine)', () => {
  const dir = path.join(root, 'run-a');
  fs.mkdirSync(path.join(dir, 'checkpoints', 'step-2'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'checkpoints', 'step-4'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'checkpoints', 'step-2', 'trainer_state.json'), '{}');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mode: 'dpo', data: '/d.jsonl', eval_data: null }));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"step":0,"epoch":0,"eval_loss":0.69}\n{"step":1,"epoch":0.1,"loss":0.7}\n{"step":2,"epoch":0.2,"loss":0.6}\n{"step":3,"lo');
  fs.writeFileSync(path.join(dir, 'pairs.jsonl'), [
    { step: 2, split: 'train', line: 5, chosen_reward: 0.1, rejected_reward: 0.3, margin: -0.2, loss: 0.8 },
    { step: 2, split: 'train', line: 9, chosen_reward: 0.5, rejected_reward: 0.1, margin: 0.4, loss: 0.5 },
    { step: 12, split: 'train', line: 1, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 },
    { step: 2, split: 'eval', line: 3, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 },
  ].map((p) => JSON.stringify(p)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'log.txt'), '2026-11-22T00:00:00Z warning [stuck-loss] step 12: loss stuck at log 2\n2026-11-22T00:00:01Z data: 10 pairs\n');

  it('summarises a run: last complete metrics line, complete checkpoints only, not finished', () => {
    const info = readRunFolder(dir)!;
    assert.deepEqual([info.mode, info.lastStep, info.lastLoss, info.checkpoints, info.finished], ['dpo', 2, 0.6, [2], false]);
    assert.deepEqual(listRunFolders(root).map((r) => r.dir), [dir]);
    assert.equal(readRunFolder(path.join(root, 'nope')), undefined);
  });

  it('parses complete JSON lines and keeps the torn tail for the next read', () => {
    const r = parseJsonLines('{"step":1}\n{"step":2}\n{"st');
    assert.deepEqual(r.records, [{ step: 1 }, { step: 2 }]);
    assert.equal(r.rest, '{"st');
  });

  it('pairs of one step and split, worst margin first (step 2 is not step 12)', () => {
    assert.deepEqual(readPairs(dir, 2, 'train').map((p) => p.line), [5, 9]);
    assert.deepEqual(readPairs(dir, 2, 'eval').map((p) => p.line), [3]);
  });

  it('warnings from the log', () => {
    assert.deepEqual(readWarnings(dir), [{ code: 'stuck-loss', step: 12, message: 'loss stuck at log 2' }]);
  });

  it('CSV: one row per metrics line, a column per metric, quoted names', () => {
    const csv = metricsCsv([{ name: 'a,b', records: [{ step: 1, epoch: 0.5, loss: 0.7 }, { step: 0, epoch: 0, eval_loss: 0.69 }] }]);
    assert.equal(csv, 'run,step,epoch,eval_loss,loss\n"a,b",1,0.5,,0.7\n"a,b",0,0,0.69,\n');
  });
});
