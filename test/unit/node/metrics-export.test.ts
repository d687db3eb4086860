// report_to ["tensorboard"] on the host side: when a run gets a follower, the one line without the
// torch environment, and (with the environment) a follower that appends while the run writes and ends
// with one whole export. The values themselves are checked in python/tests/test_export_metrics.py.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG, DpoConfig, toRecordLine } from '../../../src/protocol';
import { reportsTo } from '../../../src/protocol/report-to-config';
import { LiveMetricsExport, tensorboardDir } from '../../../src/node/metrics-export';
import { torchPython } from '../../../src/node/torch-env';
import { evaluationRecord, readRunEvaluations } from '../../../src/node/eval/run-evals';

function config(over: Partial<DpoConfig>): DpoConfig {
  return { ...DEFAULT_CONFIG, model: '/m', data: '/d.jsonl', ...over } as DpoConfig;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-tb-'));
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ours = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.dpo-studio')) : []);
const train = (step: number) =>
  JSON.stringify(toRecordLine({ kind: 'metrics', split: 'train', step, epoch: step / 4, values: { loss: 0.7 - step / 100, grad_norm: 1 } }));

describe('report_to', () => {
  it('reads a list, one name or "none"', () => {
    assert.equal(reportsTo([], 'tensorboard'), false);
    assert.equal(reportsTo('none', 'tensorboard'), false);
    assert.equal(reportsTo('tensorboard', 'tensorboard'), true);
    assert.equal(reportsTo(['tensorboard'], 'tensorboard'), true);
    assert.deepEqual(DEFAULT_CONFIG.report_to, []);
  });

  it('starts nothing unless asked, and without the torch environment says how to set it up, once', () => {
    const logs: string[] = [];
    assert.equal(LiveMetricsExport.forRun(tmp(), config({}), { log: (l) => logs.push(l) }), undefined);
    assert.equal(logs.length, 0);
    const missing = path.join(tmp(), 'no-env', 'bin', 'python');
    assert.equal(LiveMetricsExport.forRun(tmp(), config({ report_to: ['tensorboard'] }), { log: (l) => logs.push(l), python: missing }), undefined);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /torch environment .*npx dpo setup-torch/);
  });

  const python = torchPython();
  it('embedded engine: the follower appends during the run, then one whole export', { skip: !fs.existsSync(python) && 'no torch env' }, async () => {
    const run = tmp();
    fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify(config({ report_to: ['tensorboard'], output_dir: run })));
    const logs: string[] = [];
    const live = LiveMetricsExport.forRun(run, config({ report_to: ['tensorboard'], engine: 'tfjs' }), { log: (l) => logs.push(l) })!;
    assert.ok(live);
    const out = tensorboardDir(run);
    fs.appendFileSync(path.join(run, 'metrics.jsonl'), train(1) + '\n');
    // The start's export plus the file it appends to.
    await until(() => ours(out).length === 2, 'the follower to start');
    const appended = path.join(out, ours(out).sort()[1]);
    const size = fs.statSync(appended).size;
    fs.appendFileSync(path.join(run, 'metrics.jsonl'), train(2) + '\n' + train(3) + '\n');
    await until(() => fs.statSync(appended).size > size, 'the new lines to be appended while the run goes');
    await live.finish();
    assert.equal(ours(out).length, 1, 'the closing export replaced both files');
    assert.match(logs[logs.length - 1], /^TensorBoard: wrote 9 values of 3 metrics, 0 warning\(s\) and \d+ hyperparameters to /);
  });

  it(
    'torch engine: the engine logs live itself; the host exports again only for checkpoint evaluations',
    { skip: !fs.existsSync(python) && 'no torch env' },
    async () => {
      const run = tmp();
      fs.writeFileSync(path.join(run, 'metrics.jsonl'), train(1) + '\n');
      const logs: string[] = [];
      await LiveMetricsExport.forRun(run, config({ report_to: 'tensorboard', engine: 'torch' }), { log: (l) => logs.push(l) })!.finish();
      assert.deepEqual(ours(tensorboardDir(run)), []);
      // A checkpoint evaluation in the shape dpo eval writes: the exporter's gen/* values are the panel's eval_gen/* ones.
      const model = (mean_reward: number) => ({ answers: 4, mean_length: 10, mean_reward });
      fs.mkdirSync(path.join(run, 'eval', 'checkpoint-1'), { recursive: true });
      const head = { version: 1, created: '2026-12-03T00:00:00Z', engine: 'torch', policy: 'p', reference: 'r', prompts: 2, samples: 2, seed: 1 };
      const rest = { max_new_tokens: 8, temperature: 1, kl: 0.2, kl_ci: [0, 0.4], kl_exact_sampler: true, judges: {}, win_rate: 0.5, step: 1 };
      const summary = { ...head, ...rest, models: { policy: model(1), reference: model(0) } };
      fs.writeFileSync(path.join(run, 'eval', 'checkpoint-1', 'summary.json'), JSON.stringify(summary));
      const gen = Object.keys(evaluationRecord(readRunEvaluations(run)[0])!.values).length;
      assert.equal(gen, 4, 'the panel reads the summary: kl, win rate, both rewards');
      await LiveMetricsExport.forRun(run, config({ report_to: 'tensorboard', engine: 'torch', checkpoint_eval_prompts: 2 }), {
        log: (l) => logs.push(l),
      })!.finish();
      assert.equal(ours(tensorboardDir(run)).length, 1);
      assert.match(logs[logs.length - 1], new RegExp(`wrote ${3 + gen} values of ${3 + gen} metrics`));
    },
  );
});
