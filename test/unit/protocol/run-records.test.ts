// The run-folder contract: the guards read both record shapes whatever the key order, the
// serializer writes what the JSON Schema accepts, the guards and the schema agree on bad records,
// and the checked-in schema is the one the TypeScript source generates.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { PairRecord, RUN_RECORDS_SCHEMA, RunRecord, pairRecordLine, parseLines, parsePairRecord, parseRunRecord, runRecordLine } from '../../../src/protocol';

const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
const validRecord = ajv.compile(RUN_RECORDS_SCHEMA);
const validPair = ajv.compile({ $ref: '#/definitions/pair', definitions: RUN_RECORDS_SCHEMA.definitions });

const GOOD: RunRecord[] = [
  { kind: 'metrics', split: 'train', step: 3, epoch: 0.5, values: { loss: 0.6, 'rewards/margins': 0.1, grad_norm: 1.2 } },
  { kind: 'metrics', split: 'eval', step: 0, epoch: 0, values: { eval_loss: 0.69, 'eval_rewards/accuracies': 0 } },
  { kind: 'warning', step: 12, code: 'stuck-loss', message: 'loss stuck' },
  { kind: 'status', status: 'running', step: 0, total_steps: 10, time: '2026-11-26T00:00:00.000Z', engine: 'tfjs', device: 'wasm' },
  {
    kind: 'status',
    status: 'failed',
    step: 4,
    total_steps: 10,
    time: '2026-11-26T00:00:00.000Z',
    engine: 'torch',
    device: 'cuda:0 NVIDIA H100',
    message: 'CUDA out of memory',
  },
];

// Each is wrong in one way that both the guard and the schema must catch.
const BAD: [string, unknown][] = [
  ['an eval name in a train record', { kind: 'metrics', split: 'train', step: 1, epoch: 0, eval_loss: 0.7 }],
  ['a train name in an eval record', { kind: 'metrics', split: 'eval', step: 1, epoch: 0, loss: 0.7 }],
  ['a metric that is not a number', { kind: 'metrics', split: 'train', step: 1, epoch: 0, loss: '0.7' }],
  ['an unknown split', { kind: 'metrics', split: 'test', step: 1, epoch: 0 }],
  ['a fractional step', { kind: 'metrics', split: 'train', step: 1.5, epoch: 0 }],
  ['an unknown kind', { kind: 'checkpoint', step: 1 }],
  ['a warning with an unknown code', { kind: 'warning', step: 1, code: 'sad', message: 'x' }],
  ['a status without device', { kind: 'status', status: 'running', step: 0, total_steps: 1, time: 't', engine: 'tfjs' }],
  ['a status of an unknown engine', { kind: 'status', status: 'running', step: 0, total_steps: 1, time: 't', engine: 'jax', device: 'tpu' }],
  ['an unknown status', { kind: 'status', status: 'paused', step: 0, total_steps: 1, time: 't', engine: 'tfjs', device: 'wasm' }],
];

describe('run-folder records', () => {
  it('the checked-in schema is the generated one (regenerate: npm run schemas)', () => {
    const file = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../../schemas/run-records.schema.json'), 'utf8'));
    assert.deepEqual(file, JSON.parse(JSON.stringify(RUN_RECORDS_SCHEMA)));
  });

  it('every record the serializer writes is valid under the schema and reads back equal', () => {
    for (const r of GOOD) {
      const line = JSON.parse(runRecordLine(r));
      assert.ok(validRecord(line), `${JSON.stringify(line)}: ${ajv.errorsText(validRecord.errors)}`);
      assert.deepEqual(parseRunRecord(line), { ok: true, value: r });
    }
    const pair: PairRecord = { step: 2, split: 'eval', line: 7, chosen_reward: 0.1, rejected_reward: -0.2, margin: 0.3, loss: 0.55 };
    assert.ok(validPair(JSON.parse(pairRecordLine(pair))), ajv.errorsText(validPair.errors));
    assert.deepEqual(parsePairRecord(JSON.parse(pairRecordLine(pair))), { ok: true, value: pair });
  });

  for (const [what, raw] of BAD) {
    it(`guard and schema both reject ${what}`, () => {
      assert.equal(validRecord(raw), false, 'schema');
      const r = parseRunRecord(raw);
      assert.equal(r.ok, false, 'guard');
    });
  }

  it('pairs: guard and schema both reject line 0 and a missing margin', () => {
    for (const raw of [
      { step: 1, split: 'train', line: 0, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0 },
      { step: 1, split: 'train', line: 3, chosen_reward: 0, rejected_reward: 0, loss: 0 },
    ]) {
      assert.equal(validPair(raw), false);
      assert.equal(parsePairRecord(raw).ok, false);
    }
  });

  it('old kind-less lines: eval when they hold eval_loss, train otherwise; key order never matters', () => {
    const text =
      '{"eval_loss":0.69,"epoch":0,"step":0}\n{"loss":0.7,"step":1,"epoch":0.1}\n{"step":2,"split":"train","kind":"metrics","loss":0.6,"epoch":0.2}\n';
    const { records, problems } = parseLines(text, parseRunRecord, true);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      records.map((r) => (r.kind === 'metrics' ? [r.split, r.step, Object.keys(r.values)] : r.kind)),
      [
        ['eval', 0, ['eval_loss']],
        ['train', 1, ['loss']],
        ['train', 2, ['loss']],
      ],
    );
  });

  it('a torn last line is kept for the next read while following, dropped quietly at the end of a file; a bad line inside is reported', () => {
    const text = '{"kind":"warning","step":1,"code":"data","message":"m"}\nnot json\n{"kind":"mystery","step":1}\n{"step":2,"lo';
    const following = parseLines(text, parseRunRecord);
    assert.equal(following.records.length, 1);
    assert.equal(following.rest, '{"step":2,"lo');
    assert.deepEqual(
      following.problems.map((p) => p.line),
      [2, 3],
    );
    assert.match(following.problems[1].error, /unknown record kind "mystery"/);
    const whole = parseLines(text, parseRunRecord, true);
    assert.equal(whole.rest, '');
    assert.deepEqual(
      whole.problems.map((p) => p.line),
      [2, 3],
      'the torn tail is no problem',
    );
  });
});
