// `dpo eval` end to end on the embedded engine with tiny models: the files and their fields, k samples
// with fixed seeds (a second folder gets the same answers), the KL of the summary from the lines, a
// resumed evaluation after a torn write equal to an uninterrupted one.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVAL_FILES, EvalResultLine, parseEvalResultLine, parseEvalSummary, parseLines } from '../../../src/protocol';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('cli-eval');
const policy = tinyModel(path.join(root, 'policy'), { seed: 1 });
const reference = tinyModel(path.join(root, 'reference'), { seed: 2 });
const prompts = writeJsonl(path.join(root, 'prompts.jsonl'), [
  { prompt: 'hello' },
  { prompt: [{ role: 'user', content: 'hi there' }] },
  { prompt: 'ab', chosen: 'x', rejected: 'y' },
]);

function dpoEval(out: string, ...extra: string[]) {
  const args = [
    BIN,
    'eval',
    '--model',
    policy,
    '--reference',
    reference,
    '--prompts',
    prompts,
    '--samples',
    '2',
    '--max-new-tokens',
    '8',
    '--seed',
    '3',
    '--out',
    out,
  ];
  const r = spawnSync(process.execPath, [...args, ...extra], { encoding: 'utf8', env: { ...process.env, DPO_BACKEND: 'wasm' }, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

function results(out: string): EvalResultLine[] {
  const parsed = parseLines(fs.readFileSync(path.join(out, EVAL_FILES.results), 'utf8'), parseEvalResultLine, true);
  assert.deepEqual(parsed.problems, []);
  return parsed.records;
}

describe('dpo eval (embedded engine)', () => {
  it('writes results.jsonl, summary.json and eval.json; fixed seeds give the same answers again', () => {
    const out1 = path.join(root, 'out1');
    const r = dpoEval(out1);
    assert.match(r.stdout, /^KL\(policy\|\|reference\) -?\d+\.\d{4} \[/);
    assert.match(r.stderr, /sampling 5\/6 prompt 3\/3, sample 2\/2/);
    const rows = results(out1);
    assert.equal(rows.length, 3 * 2 * 2);
    for (const model of ['policy', 'reference'] as const)
      for (let p = 0; p < 3; p++)
        assert.deepEqual(
          rows.filter((x) => x.model === model && x.prompt_index === p).map((x) => [x.sample, x.seed]),
          [
            [0, 3 + 2 * p],
            [1, 4 + 2 * p],
          ],
        );
    for (const x of rows) {
      assert.equal(x.token_ids!.length, x.tokens);
      assert.ok(x.tokens >= 1 && x.tokens <= 8);
      assert.ok(x.policy_logp < 0 && x.reference_logp < 0);
    }
    assert.deepEqual(rows.find((x) => x.prompt_index === 1)!.messages, [{ role: 'user', content: 'hi there' }]);
    assert.equal(rows.find((x) => x.prompt_index === 2)!.prompt, 'ab'); // a preference line's prompt
    // The two samples of one prompt differ (seeds 3 and 4 for prompt 0), and policy and reference answers differ.
    const pol = rows.filter((x) => x.model === 'policy');
    assert.notDeepEqual(pol[0].token_ids, pol[1].token_ids);
    assert.notDeepEqual(pol[0].token_ids, rows.find((x) => x.model === 'reference' && x.prompt_index === 0 && x.sample === 0)!.token_ids);

    const s = parseEvalSummary(JSON.parse(fs.readFileSync(path.join(out1, EVAL_FILES.summary), 'utf8')));
    assert.ok(s.ok, s.ok ? '' : s.error);
    const kl = pol.reduce((a, x) => a + x.policy_logp - x.reference_logp, 0) / pol.length;
    assert.ok(Math.abs(s.value.kl - kl) < 1e-12);
    assert.ok(s.value.kl_ci[0] < kl && kl < s.value.kl_ci[1]);
    assert.equal(s.value.kl_exact_sampler, true);
    assert.deepEqual([s.value.prompts, s.value.samples, s.value.seed, s.value.max_new_tokens], [3, 2, 3, 8]);
    assert.deepEqual(s.value.judges, {});
    const options = JSON.parse(fs.readFileSync(path.join(out1, EVAL_FILES.options), 'utf8'));
    assert.equal(options.policy, policy);
    assert.equal(options.judge, null);

    // Another folder, the same options: the same answers and log-probs.
    const out2 = path.join(root, 'out2');
    dpoEval(out2);
    assert.deepEqual(
      results(out2).map((x) => [x.text, x.token_ids, x.policy_logp, x.reference_logp]),
      rows.map((x) => [x.text, x.token_ids, x.policy_logp, x.reference_logp]),
    );

    // A kill that tore the last write: the re-run drops the torn pair, redoes it, and ends where an
    // uninterrupted evaluation ends.
    const file = path.join(out2, EVAL_FILES.results);
    const text = fs.readFileSync(file, 'utf8');
    const cut = text.split('\n').slice(0, 7).join('\n') + '\n' + text.split('\n')[7].slice(0, 40);
    fs.writeFileSync(file, cut);
    const again = dpoEval(out2);
    assert.match(again.stderr, /resuming: 3 of 6 answer pairs/);
    assert.equal(fs.readFileSync(file, 'utf8'), fs.readFileSync(path.join(out1, EVAL_FILES.results), 'utf8'));
  });

  it("a run's checkpoint: its run's reference and eval split by default, its step in the summary", () => {
    const data = path.join(root, 'data.jsonl');
    fs.writeFileSync(
      data,
      fs.readFileSync(path.resolve(__dirname, '../../../../examples/preferences.jsonl'), 'utf8').split('\n').slice(0, 8).join('\n') + '\n',
    );
    const run = path.join(root, 'run');
    const train = spawnSync(
      process.execPath,
      [
        BIN,
        'train',
        '--model',
        policy,
        '--data',
        data,
        '--out',
        run,
        '--max-steps',
        '3',
        '--save-steps',
        '2',
        '--eval-fraction',
        '0.25',
        '--eval-steps',
        '1',
        '--max-length',
        '64',
      ],
      { encoding: 'utf8', env: { ...process.env, DPO_BACKEND: 'wasm' }, timeout: 120_000 },
    );
    assert.equal(train.status, 0, train.stderr);
    const out = path.join(root, 'out-run');
    const r = spawnSync(
      process.execPath,
      [BIN, 'eval', '--model', path.join(run, 'checkpoints', 'step-2'), '--samples', '1', '--max-new-tokens', '4', '--out', out],
      {
        encoding: 'utf8',
        env: { ...process.env, DPO_BACKEND: 'wasm' },
        timeout: 120_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(fs.readFileSync(path.join(out, EVAL_FILES.summary), 'utf8'));
    assert.deepEqual([s.run, s.step, s.policy, s.reference], [run, 2, path.join(run, 'checkpoints', 'step-2'), policy]);
    // The prompts are the data lines the run held out, as its pairs.jsonl records them.
    const held = [
      ...new Set(
        fs
          .readFileSync(path.join(run, 'pairs.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
          .filter((p) => p.split === 'eval')
          .map((p) => p.line as number),
      ),
    ];
    const lines = fs.readFileSync(data, 'utf8').split('\n');
    assert.deepEqual(
      results(out)
        .filter((x) => x.model === 'policy')
        .map((x) => x.prompt),
      held.sort((a, b) => a - b).map((n) => JSON.parse(lines[n - 1]).prompt),
    );
    assert.equal(s.prompts, 2); // 8 pairs x eval_fraction 0.25
  });
});
