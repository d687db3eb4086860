// The fault suite's judges (test/faults/judge.ts and friends) fed inputs that must fail as well as
// inputs that must pass: a judge that cannot fail would make the suite's counts meaningless.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child, judgeError } from '../../../test/faults/harness';
import { FAILING, RunFiles, comparableRun, countsTable, firstDifference, judgeProtocol, judgeResume, until } from '../../../test/faults/judge';
import { badMessages } from '../../../test/faults/protocol';
import { fileNamedBy } from '../../../test/faults/models';
import { enginesOf } from '../../../test/faults/engines';
import { writeInProgress } from '../../../test/faults/runs';
import { tempDir } from '../helpers/fixtures';

const status = (s: string, step: number, time: string) => ({ kind: 'status', status: s, step, total_steps: 4, time, engine: 'torch', device: 'cpu' });
const train = (step: number, loss: number, extra: Record<string, number> = {}) => ({
  kind: 'metrics',
  split: 'train',
  step,
  loss,
  tokens_per_second: 100 + step,
  ...extra,
});
const evalAt = (step: number) => ({ kind: 'metrics', split: 'eval', step, eval_loss: 0.69, eval_runtime: 0.01 * step, eval_samples_per_second: 240 });
const pair = (step: number) => ({ step, split: 'train', line: 1, margin: 0.1 });
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const run = (metrics: unknown[], pairs: unknown[] = [pair(1), pair(2)], weights: Record<string, string> | null = { 'model.safetensors': 'abc' }): RunFiles => ({
  metrics: jsonl(metrics),
  pairs: jsonl(pairs),
  weights: weights ?? undefined,
});

const uninterrupted = run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.6), evalAt(2), status('completed', 2, 'T1')]);
const expected = comparableRun(uninterrupted);

describe('the fault suite judges a resumed run against the uninterrupted one', () => {
  it('ignores wall-clock fields, status times and the running/stopped records of the interruptions', () => {
    const resumed = run([
      status('running', 0, 'T5'),
      evalAt(0),
      train(1, 0.7, { elapsed_seconds: 9 }),
      status('stopped', 1, 'T6'), // a SIGTERM
      status('running', 1, 'T7'), // the resume
      train(2, 0.6),
      { ...evalAt(2), eval_runtime: 5 },
      status('completed', 2, 'T8'),
    ]);
    assert.equal(firstDifference(expected, comparableRun(resumed)), undefined);
  });

  for (const [what, files] of [
    ['a loss that differs', run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.61), evalAt(2), status('completed', 2, 'T1')])],
    [
      'an extra eval logged at the resume step',
      run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), evalAt(1), train(2, 0.6), evalAt(2), status('completed', 2, 'T1')]),
    ],
    ['a step logged twice', run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(1, 0.7), train(2, 0.6), evalAt(2), status('completed', 2, 'T1')])],
    [
      'a run that ends stopped, not completed',
      run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.6), evalAt(2), status('stopped', 2, 'T1')]),
    ],
    [
      'pairs.jsonl grown by the resume',
      run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.6), evalAt(2), status('completed', 2, 'T1')], [pair(1), pair(1), pair(2)]),
    ],
    [
      'other final weights',
      run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.6), evalAt(2), status('completed', 2, 'T1')], undefined, {
        'model.safetensors': 'abd',
      }),
    ],
    ['no final/', run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.6), evalAt(2), status('completed', 2, 'T1')], undefined, null)],
  ] as const) {
    it(`reports ${what}`, () => {
      const d = firstDifference(expected, comparableRun(files));
      assert.ok(d, `${what} was judged identical`);
      assert.equal(judgeResume({ group: 'g', name: 'n', seconds: 1 }, { difference: d, landed: true }).verdict, 'differs');
    });
  }

  it('names the fields that differ in a record of the same step', () => {
    const other = run([status('running', 0, 'T0'), evalAt(0), train(1, 0.7), train(2, 0.61), evalAt(2), status('completed', 2, 'T1')]);
    assert.equal(firstDifference(expected, comparableRun(other)), 'item 3 of 8 (metrics train step 2): loss expected 0.6, got 0.61');
  });

  it('reports a torn line instead of throwing', () => {
    const torn: RunFiles = { ...uninterrupted, metrics: uninterrupted.metrics + '{"kind": "metrics", "st' };
    assert.match(firstDifference(expected, comparableRun(torn)) ?? '', /unreadable.*metrics\.jsonl:7/);
  });

  it('counts a kill that missed its moment as missed, a failed resume as lost, and only a landed identical one as ok', () => {
    const base = { group: 'g', name: 'n', seconds: 1 };
    assert.equal(judgeResume(base, { landed: true }).verdict, 'ok');
    assert.equal(judgeResume(base, { landed: false, where: 'inside a checkpoint write' }).verdict, 'missed');
    assert.equal(judgeResume(base, { landed: true, failed: 'resume failed: no complete checkpoint' }).verdict, 'lost');
    assert.equal(judgeResume(base, { landed: false, failed: 'x' }).verdict, 'lost');
    assert.ok(FAILING.includes('missed') && FAILING.includes('differs'));
  });
});

describe('the fault suite judges answers to hostile protocol messages', () => {
  const base = { group: 'protocol messages', name: 'n', seconds: 0 };
  const f = { root: '/tmp/r', model: '/tmp/r/model', data: '/tmp/r/pairs.jsonl' };

  it('needs the expected fragment, not any error text', () => {
    assert.equal(judgeProtocol(base, { error: 'run/stop: params.x is not allowed', exited: false }, /params/, 60).verdict, 'clear');
    assert.equal(judgeProtocol(base, { error: 'OverflowError: int too large', exited: false }, /\bid\b/, 60).verdict, 'unclear');
    assert.equal(judgeProtocol(base, { exited: true, error: 'id must be an integer' }, /\bid\b/, 60).verdict, 'crash');
    assert.equal(judgeProtocol(base, { exited: false }, /x/, 60).verdict, 'hang');
    assert.equal(judgeProtocol(base, { exited: false, accepted: '{"kind":"reply","ok":true}' }, /x/, 60).verdict, 'accepted');
    // A message that may be valid: any answer, but the engine must answer and stay up.
    assert.equal(judgeProtocol(base, { exited: false, accepted: '{"kind":"reply","ok":true}' }, null, 60).verdict, 'ok');
    assert.equal(judgeProtocol(base, { exited: true }, null, 60).verdict, 'crash');
    assert.equal(judgeProtocol(base, { exited: false }, null, 60).verdict, 'hang');
  });

  it('gives every case a fragment that a generic error or a raw exception does not match', () => {
    const cases = badMessages(f);
    assert.ok(cases.length >= 50);
    assert.ok(cases.filter(([, , e]) => e === null).length <= 3, 'only messages a request may validly carry are judged by the answer alone');
    for (const [name, , expected] of cases)
      if (expected)
        for (const generic of ['error', 'internal error', 'RecursionError: maximum recursion depth exceeded', 'Traceback (most recent call last)'])
          assert.ok(!expected.test(generic), `${name}: ${expected} accepts "${generic}"`);
  });

  it('covers the ids and nestings that ended the torch engine (issue #25)', () => {
    const names = badMessages(f).map(([n]) => n);
    for (const n of ['id 1e400', 'id NaN', 'id Infinity', 'arrays nested 10,000 deep', 'probe/score beta 1e400']) assert.ok(names.includes(n), n);
  });
});

describe('the fault suite judges other outcomes', () => {
  const root = tempDir('faults-judge');
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const child = (c: Partial<Child>): Child => ({ code: 1, signal: null, stdout: '', stderr: '', timedOut: false, seconds: 1, ...c });

  it('sorts a bad-input run into clear, unclear, accepted, hang and crash', () => {
    const names = /pairs\.jsonl:3\b/;
    assert.equal(judgeError('g', 'n', child({ stderr: 'dpo: /d/pairs.jsonl:3: missing "chosen"\n' }), names).verdict, 'clear');
    assert.equal(judgeError('g', 'n', child({ stderr: "dpo: 'NoneType' object is not subscriptable\n" }), names).verdict, 'unclear');
    assert.equal(judgeError('g', 'n', child({ code: 0 }), names).verdict, 'accepted');
    assert.equal(judgeError('g', 'n', child({ timedOut: true, code: null, signal: 'SIGKILL' }), names).verdict, 'hang');
    assert.equal(judgeError('g', 'n', child({ code: 1, stderr: 'dpo: pairs.jsonl:3\n    at foo (/x.js:1:2)\n' }), names).verdict, 'crash');
  });

  it('asks the torch engine to name the file the embedded engine names', () => {
    assert.equal(fileNamedBy(/tokenizer_config\.json: chat template: range\(\)/).source, 'tokenizer_config\\.json');
    assert.ok(fileNamedBy(/model\.safetensors: missing 1 tensor/).test('/m/model.safetensors: tensor x missing'));
    assert.ok(!fileNamedBy(/model\.safetensors: missing 1 tensor/).test('invalid header length'));
  });

  it('finds a checkpoint or final/ write in progress in either engine’s layout', () => {
    const out = path.join(root, 'run');
    fs.mkdirSync(path.join(out, 'checkpoints', 'step-3'), { recursive: true });
    assert.equal(writeInProgress(out, 'checkpoint'), undefined);
    fs.mkdirSync(path.join(out, 'checkpoints', '.tmp-step-6'));
    assert.equal(writeInProgress(out, 'checkpoint'), path.join(out, 'checkpoints', '.tmp-step-6'));
    fs.rmSync(path.join(out, 'checkpoints', '.tmp-step-6'), { recursive: true });
    fs.mkdirSync(path.join(out, '.hf-staging', 'checkpoint-6'), { recursive: true });
    assert.equal(writeInProgress(out, 'checkpoint'), path.join(out, '.hf-staging', 'checkpoint-6'));
    assert.equal(writeInProgress(out, 'final'), undefined);
    fs.mkdirSync(path.join(out, 'final.tmp'));
    assert.equal(writeInProgress(out, 'final'), path.join(out, 'final.tmp'));
  });

  it('gives up polling at its deadline', async () => {
    const t = Date.now();
    assert.equal(await until(() => false, 50, 5), false);
    assert.ok(Date.now() - t < 1000);
    assert.equal(await until(() => true, 50), true);
  });

  it('counts per engine and group, missed kills apart', () => {
    const table = countsTable([
      { engine: 'tfjs', group: 'kill', name: 'a', verdict: 'ok', detail: '', seconds: 1 },
      { engine: 'torch', group: 'kill', name: 'a', verdict: 'missed', detail: '', seconds: 1 },
      { engine: 'torch', group: 'kill', name: 'b', verdict: 'lost', detail: '', seconds: 1 },
    ]);
    assert.match(table, /\| torch \| kill \| 2 \| 0 \| 0 \| 0 \| 0 \| 0 \| 1 \| 0 \| 1 \|/);
    assert.match(table, /\| tfjs \| kill \| 1 \| 0 \| 1 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \|/);
  });

  it('reads --engine=tfjs,torch (default: both where torch is set up) and refuses an unknown engine', () => {
    assert.deepEqual(
      enginesOf(['--engine=tfjs,torch']).map((e) => e.name),
      ['tfjs', 'torch'],
    );
    assert.deepEqual(
      enginesOf([], false).map((e) => e.name),
      ['tfjs'],
    );
    assert.deepEqual(
      enginesOf([], true).map((e) => e.name),
      ['tfjs', 'torch'],
    );
    assert.deepEqual(
      enginesOf(['--engine=torch'], false).map((e) => e.name),
      ['torch'],
    );
    assert.throws(() => enginesOf(['--engine=jax']), /unknown engine jax/);
  });
});
