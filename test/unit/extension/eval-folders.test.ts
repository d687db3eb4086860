import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { HandPair, writeEvalFolder, writeRunFolder } from '../helpers/eval-folders';
import { listEvaluations, pairFromVerdict, policyModelDir, readEvalPairs, runEvalDir, summariesFingerprint } from '../../../src/extension/eval-folders';

const root = tempDir('eval-folders');
const run = path.join(root, 'runs', 'beta-0.1');
writeRunFolder(run);
fs.mkdirSync(path.join(run, 'final'), { recursive: true });
fs.mkdirSync(path.join(run, 'checkpoints', 'step-20'), { recursive: true });
const pairs: HandPair[] = [
  { prompt: 'Say hi.', policy: 'Hi there!', reference: 'hi', verdicts: { 'llm:judge': 'win', rm: 'loss' } },
  { prompt: 'Count to 3.', policy: '1 2 3', reference: '1, 2, 3', verdicts: { 'llm:judge': 'tie' } },
  {
    prompt: 'And you?',
    messages: [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: 'And you?' },
    ],
    policy: 'Fine, thanks.',
    reference: 'ok',
    verdicts: { 'llm:judge': 'win' },
  },
];
writeEvalFolder(path.join(run, 'eval', 'checkpoint-20'), { kl: 0.2, judges: { 'llm:judge': 0.6 }, meanReward: 0.3, pairs });
writeEvalFolder(path.join(run, 'eval', 'final'), { step: 40, kl: 0.5, judges: { 'llm:judge': 0.7, rm: 0.4 }, pairs });

describe('evaluation folders (the Evaluate panel reads only these)', () => {
  it("maps a run's final model and checkpoints to <run>/eval/<name>, and nothing else", () => {
    assert.deepEqual(runEvalDir(path.join(run, 'final')), { runDir: run, name: 'final' });
    assert.deepEqual(runEvalDir(path.join(run, 'checkpoints', 'step-20')), { runDir: run, name: 'checkpoint-20', step: 20 });
    assert.equal(runEvalDir(path.join(root, 'models', 'final')), undefined);
    assert.equal(runEvalDir(run), undefined);
  });

  it('finds the model folder when summary.json names a run for its policy', () => {
    assert.equal(policyModelDir({ policy: path.join(run, 'final') }), path.join(run, 'final'));
    assert.equal(policyModelDir({ policy: run }), path.join(run, 'final'));
    assert.equal(policyModelDir({ policy: run, step: 20 }), path.join(run, 'checkpoints', 'step-20'));
    assert.equal(policyModelDir({ policy: run, step: 7 }), path.join(run, 'final'), 'no such checkpoint: the final model');
  });

  it("lists a run's evaluations with their series and steps (the folder name, or summary.json's step)", () => {
    const { evaluations, problems } = listEvaluations([run], []);
    assert.deepEqual(problems, []);
    const seen = evaluations.map((e) => [e.series, e.name, e.step, e.summary.kl]).sort();
    assert.deepEqual(seen, [
      ['beta-0.1', 'checkpoint-20', 20, 0.2],
      ['beta-0.1', 'final', 40, 0.5],
    ]);
    assert.ok(evaluations.every((e) => e.runDir === run));
  });

  it('reports a bad summary and a folder without one by file, and still lists the good ones', () => {
    const bad = path.join(root, 'elsewhere', 'bad');
    fs.mkdirSync(bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'summary.json'), JSON.stringify({ version: 1, kl: 'high' }));
    const empty = path.join(root, 'elsewhere', 'empty');
    fs.mkdirSync(empty, { recursive: true });
    const other = path.join(root, 'elsewhere', 'other');
    writeEvalFolder(other, { kl: 0.1, judges: {}, pairs: pairs.slice(0, 1) });
    const { evaluations, problems } = listEvaluations([run], [bad, empty, other]);
    assert.equal(evaluations.length, 3);
    const o = evaluations.find((e) => e.dir === other)!;
    assert.deepEqual([o.series, o.name, o.runDir], ['other', 'other', undefined]);
    assert.equal(problems.length, 2);
    assert.ok(problems[0].startsWith(`${path.join(bad, 'summary.json')}: not a version 1 evaluation summary (summary: `), problems[0]);
    assert.match(problems[1], /empty: no summary\.json/);
  });

  it('pairs answers by prompt and sample in prompt order, and names a bad line by file, line and field', () => {
    const dir = path.join(run, 'eval', 'checkpoint-20');
    const read = readEvalPairs(dir);
    assert.equal(read.total, 3);
    assert.deepEqual(
      read.pairs.map((p) => [p.promptIndex, p.policy?.text, p.reference?.text]),
      [
        [0, 'Hi there!', 'hi'],
        [1, '1 2 3', '1, 2, 3'],
        [2, 'Fine, thanks.', 'ok'],
      ],
    );
    assert.equal(readEvalPairs(dir, 2).pairs.length, 2);
    const file = path.join(dir, 'results.jsonl');
    const line = {
      prompt_index: 3,
      prompt: 'x',
      model: 'policy',
      sample: 0,
      seed: 0,
      text: 7,
      tokens: 1,
      finish_reason: 'eos',
      policy_logp: -1,
      reference_logp: -1,
    };
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
    const after = readEvalPairs(dir);
    assert.equal(after.total, 3);
    assert.equal(after.problems.length, 1);
    assert.match(after.problems[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7: results line: text must be`));
  });

  it('"Add as pair" puts the better answer by the chosen judge as chosen, refuses a tie, keeps a conversation one', () => {
    const [a, tie, chat] = readEvalPairs(path.join(run, 'eval', 'final')).pairs;
    assert.deepEqual(pairFromVerdict(a, 'llm:judge'), { ok: true, value: { prompt: 'Say hi.', chosen: 'Hi there!', rejected: 'hi' } });
    // The same answers by another judge that preferred the reference: the pair flips.
    assert.deepEqual(pairFromVerdict(a, 'rm'), { ok: true, value: { prompt: 'Say hi.', chosen: 'hi', rejected: 'Hi there!' } });
    const refused = pairFromVerdict(tie, 'llm:judge');
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.error : '', /called prompt 2, sample 1 a tie.*no pair was added/);
    assert.match((pairFromVerdict(tie, 'rm') as { error: string }).error, /judge rm gave no verdict on prompt 2/);
    const c = pairFromVerdict(chat, 'llm:judge');
    assert.ok(c.ok);
    assert.deepEqual(c.value, {
      prompt: pairs[2].messages,
      chosen: [{ role: 'assistant', content: 'Fine, thanks.' }],
      rejected: [{ role: 'assistant', content: 'ok' }],
    });
  });
});

describe('noticing a new or re-run evaluation without a watcher', () => {
  it('the fingerprint of the summaries changes when one appears or is rewritten, not otherwise', () => {
    const runsRoot = path.join(root, 'fp-runs');
    const r = path.join(runsRoot, 'run');
    writeRunFolder(r);
    const other = path.join(root, 'fp-other');
    const a = summariesFingerprint(runsRoot, [other]);
    assert.equal(summariesFingerprint(runsRoot, [other]), a);
    writeEvalFolder(path.join(r, 'eval', 'final'), { kl: 0.1, judges: {}, pairs: [] });
    const b = summariesFingerprint(runsRoot, [other]);
    assert.notEqual(b, a);
    writeEvalFolder(other, { kl: 0.1, judges: {}, pairs: [] });
    const c = summariesFingerprint(runsRoot, [other]);
    assert.notEqual(c, b);
    const file = path.join(other, 'summary.json');
    const later = new Date(fs.statSync(file).mtimeMs + 5000);
    fs.utimesSync(file, later, later);
    assert.notEqual(summariesFingerprint(runsRoot, [other]), c);
  });
});
