import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { deterministicPart, makePairs, readJsonl, resumeRun, testRun } from '../helpers/runs';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { evalInterval } from '../../../src/engine/train/schedule';
import { RUN_RECORDS_SCHEMA } from '../../../src/protocol';
import Ajv from 'ajv';

const root = tempDir('trainer');

function weightsBytes(dir: string): Buffer {
  return fs.readFileSync(path.join(dir, 'model.safetensors'));
}

function maxWeightDiff(a: string, b: string): number {
  const wa = readModelWeights(a).weights;
  const wb = readModelWeights(b).weights;
  let max = 0;
  for (const [name, x] of wa) x.data.forEach((v, i) => (max = Math.max(max, Math.abs(v - wb.get(name)!.data[i]))));
  return max;
}

describe('DPO trainer', () => {
  before(useTestBackend);

  it('writes the run folder: resolved config, TRL-named metrics, per-pair values, log, final HF model', async () => {
    const r = await testRun(root, 'basic', { max_steps: 4, eval_steps: 2, save_steps: 2 });
    const dir = r.dir;
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(config.beta, 0.1);
    assert.equal(config.loss_type, 'sigmoid');
    const metrics = readJsonl(path.join(dir, 'metrics.jsonl'));
    const train = metrics.filter((m) => 'loss' in m);
    const evals = metrics.filter((m) => 'eval_loss' in m);
    assert.deepEqual(
      train.map((m) => m.step),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      evals.map((m) => m.step),
      [0, 2, 4],
    );
    for (const k of [
      'loss',
      'rewards/chosen',
      'rewards/rejected',
      'rewards/margins',
      'rewards/accuracies',
      'logps/chosen',
      'logps/rejected',
      'grad_norm',
      'learning_rate',
      'epoch',
      'step',
      'tokens_per_second',
      'elapsed_seconds',
    ]) {
      assert.ok(k in train[0], `metric ${k}`);
    }
    assert.ok('eval_rewards/margins' in evals[0] && 'eval_rewards/accuracies' in evals[0]);
    // Step 0: policy == reference, so every reward is 0, the loss is log 2, and no pair is "won".
    assert.ok(Math.abs(evals[0].eval_loss - Math.LN2) < 1e-6);
    assert.equal(evals[0]['eval_rewards/accuracies'], 0);
    // Rewards are β·(policy − reference) log-probs: margin = chosen − rejected.
    const t = train[3];
    assert.ok(Math.abs(t['rewards/margins'] - (t['rewards/chosen'] - t['rewards/rejected'])) < 1e-9);
    const pairs = readJsonl<{ step: number; split: string; line: number; margin: number; chosen_reward: number; rejected_reward: number }>(
      path.join(dir, 'pairs.jsonl'),
    );
    const step4 = pairs.filter((p) => p.step === 4 && p.split === 'train');
    assert.equal(step4.length, 2, 'batch_size pairs per logged step');
    assert.ok(step4.every((p) => p.line >= 1 && p.line <= 24 && Math.abs(p.margin - (p.chosen_reward - p.rejected_reward)) < 1e-9));
    const meanMargin = step4.reduce((a, p) => a + p.margin, 0) / step4.length;
    assert.ok(Math.abs(meanMargin - t['rewards/margins']) < 1e-9, 'the chart point is the mean of its pairs');
    assert.match(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8'), /data: 18 training pair\(s\), 6 eval pair\(s\)/);
    // Every line is valid under the schema the PyTorch engine writes against too.
    const ajv = new Ajv({ validateFormats: false });
    const validRecord = ajv.compile(RUN_RECORDS_SCHEMA);
    const validPair = ajv.compile({ $ref: '#/definitions/pair', definitions: RUN_RECORDS_SCHEMA.definitions });
    for (const m of metrics) assert.ok(validRecord(m), `${JSON.stringify(m)}: ${ajv.errorsText(validRecord.errors)}`);
    for (const p of pairs) assert.ok(validPair(p), `${JSON.stringify(p)}: ${ajv.errorsText(validPair.errors)}`);
    assert.ok(fs.existsSync(path.join(dir, 'final', 'model.safetensors')) && fs.existsSync(path.join(dir, 'final', 'tokenizer.json')));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')), ['step-2']);
  });

  it('DPO moves the policy toward the chosen responses (margins and accuracy rise)', async () => {
    const r = await testRun(root, 'learns', { max_steps: 12, learning_rate: 3e-3, eval_steps: 12, beta: 0.5 });
    const evals = r.metrics.filter((m) => 'eval_loss' in m);
    const [first, last] = [evals[0], evals[evals.length - 1]];
    assert.ok(
      last['eval_rewards/margins'] > first['eval_rewards/margins'] + 0.1,
      `margins ${first['eval_rewards/margins']} -> ${last['eval_rewards/margins']}`,
    );
    assert.ok(last['eval_rewards/accuracies'] > 0.5);
    assert.ok(last.eval_loss < first.eval_loss);
  });

  it('gradient accumulation: 4×1 equals one batch of 4 (weights after training)', async () => {
    const big = await testRun(root, 'batch4', { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 3, eval_fraction: 0 });
    const acc = await testRun(root, 'accum4x1', { batch_size: 1, gradient_accumulation_steps: 4, max_steps: 3, eval_fraction: 0 });
    const diff = maxWeightDiff(big.result.finalDir!, acc.result.finalDir!);
    assert.ok(diff < 2e-5, `max weight difference ${diff}`);
    const [a, b] = [big.metrics.map((m) => m.loss), acc.metrics.map((m) => m.loss)];
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-5, `loss at step ${i + 1}: ${x} vs ${b[i]}`));
  });

  it('gradient clipping bounds the update: grad_norm is reported before clipping, and a tiny limit slows learning', async () => {
    const free = await testRun(root, 'noclip', { max_steps: 3, max_grad_norm: 0, eval_fraction: 0 });
    const clipped = await testRun(root, 'clip', { max_steps: 3, max_grad_norm: 1e-3, eval_fraction: 0 });
    assert.equal(free.metrics[0].grad_norm, clipped.metrics[0].grad_norm, 'same first gradient');
    const start = path.join(root, 'model');
    assert.ok(maxWeightDiff(start, clipped.result.finalDir!) < maxWeightDiff(start, free.result.finalDir!));
  });

  it('resume: a stopped run continued from its checkpoint matches an uninterrupted run bit for bit', async () => {
    const full = await testRun(root, 'full', { max_steps: 6, save_steps: 100, eval_steps: 2 });
    let steps = 0;
    const first = await testRun(
      root,
      'interrupted',
      { max_steps: 6, save_steps: 100, eval_steps: 2 },
      {
        shouldStop: () => ++steps === 3,
      },
    );
    assert.equal(first.result.reason, 'stopped');
    assert.equal(first.result.step, 3);
    assert.ok(fs.existsSync(path.join(first.dir, 'checkpoints', 'step-3', 'trainer_state.json')));
    // A crash while writing a later checkpoint leaves debris that must be ignored.
    fs.mkdirSync(path.join(first.dir, 'checkpoints', '.tmp-step-5'));
    fs.mkdirSync(path.join(first.dir, 'checkpoints', 'step-5'));
    fs.writeFileSync(path.join(first.dir, 'checkpoints', 'step-5', 'model.safetensors'), 'half written');
    // And metrics logged after the checkpoint (as if the process died at step 4) are redone.
    fs.appendFileSync(path.join(first.dir, 'metrics.jsonl'), JSON.stringify({ step: 4, epoch: 0, loss: 99 }) + '\n{"step": 5, "los');
    const resumed = await resumeRun(first.dir);
    assert.equal(resumed.result.reason, 'completed');
    assert.deepEqual(deterministicPart(readJsonl(path.join(first.dir, 'metrics.jsonl'))), deterministicPart(readJsonl(path.join(full.dir, 'metrics.jsonl'))));
    assert.deepEqual(weightsBytes(resumed.result.finalDir!), weightsBytes(full.result.finalDir!));
    const statuses = readJsonl<{ kind: string; status: string; step: number }>(path.join(first.dir, 'metrics.jsonl')).filter((r) => r.kind === 'status');
    assert.deepEqual(
      statuses.map((s) => `${s.status}@${s.step}`),
      ['running@0', 'stopped@3', 'running@3', 'completed@6'],
    );
    assert.match(fs.readFileSync(path.join(first.dir, 'log.txt'), 'utf8'), /resumed from .*step-3 \(step 3\)/);
  });

  it('resume: start-up warnings (a skipped data line) are recorded once, as in the uninterrupted run', async () => {
    const data = makePairs(path.join(root, 'pairs-with-bad-line.jsonl'), 24);
    fs.appendFileSync(data, 'not a pair\n');
    const settings = { max_steps: 4, save_steps: 100, eval_steps: 2, data, skip_bad_lines: true };
    const full = await testRun(root, 'full-warned', settings);
    let steps = 0;
    const first = await testRun(root, 'interrupted-warned', settings, { shouldStop: () => ++steps === 2 });
    assert.equal(first.result.reason, 'stopped');
    assert.equal((await resumeRun(first.dir)).result.reason, 'completed');
    const records = readJsonl<Record<string, number>>(path.join(first.dir, 'metrics.jsonl'));
    assert.deepEqual(
      records.filter((r) => (r.kind as unknown) === 'warning').map((r) => r.code),
      ['data'],
    );
    assert.deepEqual(deterministicPart(records), deterministicPart(readJsonl(path.join(full.dir, 'metrics.jsonl'))));
  });

  it('precomputed reference log-probs: cached in the run folder, reused, same metrics as a live reference', async () => {
    const live = await testRun(root, 'live-ref', { max_steps: 4 });
    const cached = await testRun(root, 'cached-ref', { max_steps: 4, precompute_ref_log_probs: true });
    const files = fs.readdirSync(path.join(cached.dir, 'ref-logps'));
    assert.equal(files.length, 1);
    const a = deterministicPart(live.metrics as Record<string, number>[]);
    const b = deterministicPart(cached.metrics as Record<string, number>[]);
    a.forEach((m, i) => {
      for (const k of Object.keys(m)) if (k !== 'memory/num_tensors') assert.ok(Math.abs(m[k] - b[i][k]) < 1e-4, `${k} at ${m.step}: ${m[k]} vs ${b[i][k]}`);
    });
    // A resumed run reuses the cache instead of recomputing it.
    let steps = 0;
    const stopped = await testRun(root, 'cached-resume', { max_steps: 4, precompute_ref_log_probs: true }, { shouldStop: () => ++steps === 2 });
    assert.equal(stopped.result.reason, 'stopped');
    await resumeRun(stopped.dir);
    assert.match(fs.readFileSync(path.join(stopped.dir, 'log.txt'), 'utf8'), /reference log-probs: reusing cache/);
  });

  it('eval_steps null evaluates about 10 times a run: at 0, every ⌈total / 10⌉ steps, and at the end', async () => {
    assert.equal(evalInterval(null, 68), 7, "TRL's eval_steps 0.1 on 68 steps");
    assert.equal(evalInterval(null, 3), 1);
    assert.equal(evalInterval(50, 68), 50, 'a number is taken as it is');
    const r = await testRun(root, 'auto-eval', { max_steps: 12, eval_steps: null, save_steps: 100 });
    assert.deepEqual(
      r.metrics.filter((m) => 'eval_loss' in m).map((m) => m.step),
      [0, 2, 4, 6, 8, 10, 12],
    );
  });

  it('tensor count stays flat over many steps (memory/num_tensors in every metrics line)', async () => {
    const r = await testRun(root, 'flat', { max_steps: 10, eval_steps: 5, gradient_accumulation_steps: 2 });
    const counts = r.metrics.filter((m) => 'loss' in m).map((m) => m['memory/num_tensors']);
    assert.equal(new Set(counts).size, 1, `tensor counts: ${counts.join(', ')}`);
  });

  it('a finished run leaves no tensor behind', async () => {
    const tf = await import('@tensorflow/tfjs');
    const before = tf.memory().numTensors;
    await testRun(root, 'leak', { max_steps: 3, precompute_ref_log_probs: true, eval_steps: 2 });
    await testRun(root, 'leak-sft', { mode: 'sft', max_steps: 2 });
    assert.equal(tf.memory().numTensors, before);
  });

  it('a non-finite loss stops the run naming the step and the data lines', async () => {
    await assert.rejects(
      testRun(root, 'nan', { max_steps: 5, learning_rate: 1e12, max_grad_norm: 0, eval_fraction: 0, weight_decay: 1 }),
      /non-finite (loss|grad_norm) .* at step \d; the batch held data lines \d+, \d+ of .*pairs\.jsonl/,
    );
    // The run folder says so too: a warning record, then a failed status with the message.
    const records = readJsonl<{ kind: string; code?: string; status?: string; message?: string }>(path.join(root, 'nan', 'metrics.jsonl')).filter(
      (r) => r.kind !== 'metrics',
    );
    assert.deepEqual(
      records.map((r) => r.code ?? r.status),
      ['running', 'non-finite', 'failed'],
    );
    assert.match(records[2].message!, /non-finite/);
  });

  it('warns once when the loss is stuck at log 2 with zero rewards', async () => {
    const r = await testRun(root, 'stuck', { max_steps: 5, learning_rate: 1e-30, stuck_loss_steps: 3, eval_fraction: 0 });
    assert.deepEqual(
      r.warnings.filter((w) => w === 'stuck-loss'),
      ['stuck-loss'],
    );
  });

  it('ipo, hinge, label smoothing, reference-free and RPO runs train and log', async () => {
    for (const [name, o] of [
      ['ipo', { loss_type: 'ipo' }],
      ['hinge', { loss_type: 'hinge' }],
      ['cdpo', { label_smoothing: 0.2 }],
      ['reffree', { reference_free: true }],
      ['rpo', { sft_weight: 1 }],
    ] as const) {
      const r = await testRun(root, name, { max_steps: 2, eval_fraction: 0, ...o });
      assert.ok(
        r.metrics.every((m) => Number.isFinite(m.loss)),
        name,
      );
    }
  });

  it('SFT on the chosen responses lowers their NLL and saves a loadable model', async () => {
    const r = await testRun(root, 'sft', { mode: 'sft', max_steps: 8, learning_rate: 3e-3, eval_steps: 8 });
    const evals = r.metrics.filter((m) => 'eval_loss' in m);
    assert.ok(evals[evals.length - 1].eval_loss < evals[0].eval_loss, `${evals[0].eval_loss} -> ${evals[evals.length - 1].eval_loss}`);
    assert.ok(!('rewards/margins' in r.metrics[1]));
    assert.equal(readModelWeights(r.result.finalDir!).config.architecture, 'GPT2LMHeadModel');
  });

  it('a second data file as the eval split, and a separate reference model folder', async () => {
    const evalFile = makePairs(path.join(root, 'eval.jsonl'), 5);
    const refDir = tinyModel(path.join(root, 'other-ref'), { layers: 1, dModel: 32, heads: 2, maxPositions: 64, seed: 9 });
    const r = await testRun(root, 'evalfile', { max_steps: 2, eval_data: evalFile, reference_model: refDir, eval_steps: 2 });
    const evals = r.metrics.filter((m) => 'eval_loss' in m);
    // A different reference: rewards are not zero at step 0, as they are against a frozen copy.
    assert.notEqual(evals[0]['eval_rewards/chosen'], 0);
    const log = fs.readFileSync(path.join(r.dir, 'log.txt'), 'utf8');
    assert.match(log, /data: 24 training pair\(s\), 5 eval pair\(s\)/);
    const pairs = readJsonl<{ split: string; line: number }>(path.join(r.dir, 'pairs.jsonl')).filter((p) => p.split === 'eval');
    assert.ok(
      pairs.every((p) => p.line >= 1 && p.line <= 5),
      'eval lines refer to the eval file',
    );
  });

  it('refuses to start a second run in a folder that holds one', async () => {
    await assert.rejects(testRun(root, 'basic', { max_steps: 1 }), /already holds a run; resume it/);
  });
});
