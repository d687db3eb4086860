import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { listRunFolders, metricsCsv, readMetrics, readRunFolder, runDetail } from '../../../src/extension/run-folders';
import { resolveConfig, runNameProblem } from '../../../src/protocol';
import { readPairs, readRunRecords } from '../../../src/node/run-folder';

const root = tempDir('run-folders');

describe('reading run folders (host side, no engine)', () => {
  const dir = path.join(root, 'run-a');
  fs.mkdirSync(path.join(dir, 'checkpoints', 'step-2'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'checkpoints', 'step-4'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'checkpoints', 'step-2', 'trainer_state.json'), '{}');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mode: 'dpo', model: '/m', data: '/d.jsonl', eval_data: null }));
  // New-shape records with their keys in an unusual order, an old kind-less line, and a torn last line.
  fs.writeFileSync(
    path.join(dir, 'metrics.jsonl'),
    '{"kind":"status","status":"running","step":0,"total_steps":12,"time":"2026-11-22T00:00:00Z","engine":"tfjs","device":"wasm"}\n' +
      '{"eval_loss":0.69,"step":0,"split":"eval","epoch":0,"kind":"metrics"}\n{"step":1,"epoch":0.1,"loss":0.7}\n' +
      '{"loss":0.6,"kind":"metrics","split":"train","epoch":0.2,"step":2}\n{"message":"loss stuck at log 2","code":"stuck-loss","step":2,"kind":"warning"}\n{"step":3,"lo',
  );
  fs.writeFileSync(
    path.join(dir, 'pairs.jsonl'),
    [
      { loss: 0.8, margin: -0.2, rejected_reward: 0.3, chosen_reward: 0.1, line: 5, split: 'train', step: 2 },
      { step: 2, split: 'train', line: 9, chosen_reward: 0.5, rejected_reward: 0.1, margin: 0.4, loss: 0.5 },
      { step: 12, split: 'train', line: 1, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 },
      { step: 2, split: 'eval', line: 3, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 },
    ]
      .map((p) => JSON.stringify(p))
      .join('\n') + '\n',
  );

  it('summarises a run: last complete metrics line, complete checkpoints only, not finished, its status', () => {
    const info = readRunFolder(dir)!;
    assert.deepEqual(
      [info.mode, info.lastStep, info.lastLoss, info.checkpoints, info.finished, info.lastStatus?.status],
      ['dpo', 2, 0.6, [2], false, 'running'],
    );
    assert.deepEqual(
      listRunFolders(root).map((r) => r.dir),
      [dir],
    );
    assert.equal(readRunFolder(path.join(root, 'nope')), undefined);
  });

  it('reads every kind of record, old lines as metrics with their split, the torn tail dropped quietly', () => {
    const { records, problems } = readRunRecords(dir);
    assert.deepEqual(
      records.map((r) => (r.kind === 'metrics' ? `${r.split}@${r.step}` : `${r.kind}@${r.step}`)),
      ['status@0', 'eval@0', 'train@1', 'train@2', 'warning@2'],
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(readMetrics(dir)[0].values, { eval_loss: 0.69 });
  });

  it('pairs of one step and split, worst margin first, whatever the key order (step 2 is not step 12)', () => {
    assert.deepEqual(
      readPairs(dir, 2, 'train').map((p) => p.line),
      [5, 9],
    );
    assert.deepEqual(
      readPairs(dir, 2, 'eval').map((p) => p.line),
      [3],
    );
  });

  it('CSV: one row per metrics record, its split, a column per metric, quoted names', () => {
    const csv = metricsCsv([
      {
        name: 'a,b',
        records: [
          { kind: 'metrics', split: 'train', step: 1, epoch: 0.5, values: { loss: 0.7 } },
          { kind: 'metrics', split: 'eval', step: 0, epoch: 0, values: { eval_loss: 0.69 } },
        ],
      },
    ]);
    assert.equal(csv, 'run,split,step,epoch,eval_loss,loss\n"a,b",train,1,0.5,,0.7\n"a,b",eval,0,0,0.69,\n');
  });
});

describe('run names and the legend line', () => {
  it('a run name is a folder name under the runs folder', () => {
    assert.equal(runNameProblem('beta-0.3 first try'), undefined);
    for (const bad of ['', ' x', 'a/b', 'a\\b', '..', '.hidden', 'a:b', 'tab\there', 'x'.repeat(101)]) assert.ok(runNameProblem(bad), JSON.stringify(bad));
  });

  it('the legend says engine, objective, β and learning rate', () => {
    const c = resolveConfig({ model: '/m', data: '/d.jsonl', output_dir: '/o', learning_rate: 5e-4, beta: 0.2 }, 'test');
    assert.equal(runDetail(c), 'tfjs · sigmoid · β 0.2 · lr 5e-4');
    assert.equal(runDetail({ ...c, mode: 'sft', engine: 'torch', learning_rate: 0.003 }), 'torch · SFT · lr 0.003');
  });
});
