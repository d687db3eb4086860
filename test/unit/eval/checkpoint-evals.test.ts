import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG, DpoConfig, EvalSummary, toRecordLine } from '../../../src/protocol';
import { CheckpointEvals } from '../../../src/node/eval/checkpoint-evals';
import { EvalOptions } from '../../../src/node/eval/run-eval';
import { evaluationRecord, readRunEvaluations } from '../../../src/node/eval/run-evals';
import { insertEval } from '../../../webview/metrics/eval-columns';

function summary(kl: number, extra: Partial<EvalSummary> = {}): EvalSummary {
  const model = { answers: 4, mean_length: 10 };
  return {
    version: 1,
    created: '2026-12-03T00:00:00Z',
    engine: 'tfjs',
    policy: 'p',
    reference: 'r',
    prompts: 2,
    samples: 2,
    seed: 1,
    max_new_tokens: 8,
    temperature: 1,
    kl,
    kl_ci: [kl - 1, kl + 1],
    kl_exact_sampler: true,
    judges: {},
    models: { policy: model, reference: model },
    ...extra,
  };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-ckeval-'));
}

function config(over: Partial<DpoConfig>): DpoConfig {
  return { ...DEFAULT_CONFIG, model: '/m', data: '/d.jsonl', output_dir: '/run', ...over } as DpoConfig;
}

describe('evaluate during training', () => {
  it('is off unless checkpoint_eval_prompts > 0 (the default is 0)', () => {
    assert.equal(DEFAULT_CONFIG.checkpoint_eval_prompts, 0);
    assert.equal(CheckpointEvals.forRun('/run', config({}), { log: () => undefined }), undefined);
  });

  it('evaluates checkpoints one at a time, in order, with the run settings, into eval/<name>/', async () => {
    const run = tmp();
    const seen: EvalOptions[] = [];
    let active = 0;
    let maxActive = 0;
    const fake = async (o: EvalOptions) => {
      seen.push(o);
      maxActive = Math.max(maxActive, ++active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return summary(seen.length);
    };
    const done: number[] = [];
    const c = config({ checkpoint_eval_prompts: 3, checkpoint_eval_samples: 4, checkpoint_eval_max_new_tokens: 16, reference_model: '/ref', seed: 7 });
    const evals = CheckpointEvals.forRun(run, c, { log: () => undefined, run: fake, onDone: (step) => done.push(step) })!;
    for (const step of [10, 20]) {
      fs.mkdirSync(path.join(run, `checkpoint-${step}`));
      evals.checkpoint(step, path.join(run, `checkpoint-${step}`));
    }
    evals.checkpoint(20, path.join(run, 'checkpoint-20')); // queued twice: evaluated once
    fs.mkdirSync(path.join(run, 'final'));
    evals.final(25, path.join(run, 'final'));
    await evals.drain();
    assert.equal(maxActive, 1, 'one evaluation at a time');
    assert.deepEqual(done, [10, 20, 25]);
    assert.deepEqual(
      seen.map((o) => path.relative(run, o.out)),
      ['eval/checkpoint-10', 'eval/checkpoint-20', 'eval/final'],
    );
    const o = seen[0];
    assert.equal(o.limit, 3);
    assert.equal(o.samples, 4);
    assert.equal(o.maxNewTokens, 16);
    assert.equal(o.reference, '/ref');
    assert.equal(o.seed, 7);
    assert.equal(o.temperature, 1, 'KL(π‖π_ref) needs samples from π itself');
    assert.equal(o.model, path.join(run, 'checkpoint-10'));
  });

  it('skips a checkpoint pruned before its turn, and turns itself off after a failure', async () => {
    const run = tmp();
    const logs: string[] = [];
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('the run has no held-out prompts');
    };
    const evals = CheckpointEvals.forRun(run, config({ checkpoint_eval_prompts: 2 }), { log: (l) => logs.push(l), run: failing })!;
    evals.checkpoint(5, path.join(run, 'checkpoint-5')); // never existed
    fs.mkdirSync(path.join(run, 'checkpoint-10'));
    fs.mkdirSync(path.join(run, 'checkpoint-20'));
    evals.checkpoint(10, path.join(run, 'checkpoint-10'));
    evals.checkpoint(20, path.join(run, 'checkpoint-20'));
    await evals.drain();
    evals.checkpoint(20, path.join(run, 'checkpoint-20'));
    await evals.drain();
    assert.equal(calls, 1, 'the same cause would fail every checkpoint: one try');
    assert.match(logs.join('\n'), /checkpoint-5 skipped: .* is gone/);
    assert.match(logs.join('\n'), /evaluating during training is off for this run: the run has no held-out prompts/);
  });

  it('cancel stops the evaluation in progress and drops the queue', async () => {
    const run = tmp();
    fs.mkdirSync(path.join(run, 'a'));
    let started = 0;
    const slow = (_o: EvalOptions, hooks?: { signal?: AbortSignal }) =>
      new Promise<EvalSummary>((_resolve, reject) => {
        started++;
        hooks!.signal!.addEventListener('abort', () => reject(new Error('cancelled')));
      });
    const evals = CheckpointEvals.forRun(run, config({ checkpoint_eval_prompts: 1 }), { log: () => undefined, run: slow })!;
    evals.checkpoint(1, path.join(run, 'a'));
    evals.checkpoint(2, path.join(run, 'a'));
    await new Promise((r) => setTimeout(r, 5));
    evals.cancel();
    await evals.drain();
    assert.equal(started, 1);
    assert.equal(evals.pending, 0);
  });
});

describe('a run’s evaluations read back for the metrics panel', () => {
  it('reads eval/*/summary.json in step order, skipping broken ones, as eval_gen/* records', () => {
    const run = tmp();
    const write = (name: string, body: string) => {
      fs.mkdirSync(path.join(run, 'eval', name), { recursive: true });
      fs.writeFileSync(path.join(run, 'eval', name, 'summary.json'), body);
    };
    write('checkpoint-20', JSON.stringify(summary(0.5, { win_rate: 0.75 })));
    write('checkpoint-5', JSON.stringify(summary(0.1)));
    write('final', JSON.stringify(summary(0.9, { step: 30 })));
    write('torn', '{"kl": 0.');
    write('other', JSON.stringify({ hello: 1 }));
    const evals = readRunEvaluations(run);
    assert.deepEqual(
      evals.map((e) => [e.name, e.step]),
      [
        ['checkpoint-5', 5],
        ['checkpoint-20', 20],
        ['final', 30],
      ],
    );
    const r = evaluationRecord(evals[1])!;
    assert.deepEqual(toRecordLine(r), { kind: 'metrics', split: 'eval', step: 20, epoch: 0, 'eval_gen/kl': 0.5, 'eval_gen/win_rate': 0.75 });
    assert.equal(readRunEvaluations(path.join(run, 'nothing')).length, 0);
  });

  it('eval columns stay in step order and one step is never two x values', () => {
    const steps = [0, 50, 60];
    const cols = new Map([
      ['loss', [1, 0.5, 0.4]],
      ['gen/kl', [NaN, NaN, NaN]],
    ]);
    insertEval(steps, cols, ['loss', 'gen/kl'], 50, [NaN, 0.3]); // a checkpoint's evaluation, late
    assert.deepEqual(steps, [0, 50, 60], 'merged into the training eval at step 50');
    assert.deepEqual(cols.get('gen/kl'), [NaN, 0.3, NaN]);
    insertEval(steps, cols, ['loss', 'gen/kl'], 55, [NaN, 0.35]);
    assert.deepEqual(steps, [0, 50, 55, 60]);
    assert.deepEqual(cols.get('loss'), [1, 0.5, NaN, 0.4]);
    insertEval(steps, cols, ['loss', 'gen/kl'], 55, [NaN, 0.36]); // the same metric again at a step: a second point
    assert.deepEqual(steps, [0, 50, 55, 55, 60]);
    insertEval(steps, cols, ['loss', 'gen/kl', 'gen/new'], 70, [0.2, NaN, 1]);
    assert.deepEqual(cols.get('gen/new'), [NaN, NaN, NaN, NaN, NaN, 1]);
    assert.ok([...cols.values()].every((c) => c.length === steps.length));
  });
});
