// `dpo eval` with the real judges end to end, on the embedded engine: a reward model (a tiny
// *ForSequenceClassification folder) scores every answer, and an LLM judge is `dpo serve` running a
// tiny model (its answers carry no verdict: every pair is a tie, in both orders). The key reaches the
// judge (the server refuses requests without it) and is written nowhere.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVAL_FILES, parseEvalResultLine, parseEvalSummary, parseLines } from '../../../src/protocol';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';
import { tinyRewardModel } from '../helpers/reward-model';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('cli-eval-judges');
const KEY = 'sk-test-judge-key-0123';

describe('dpo eval with a reward model and an LLM judge', { timeout: 300_000 }, () => {
  let server: ChildProcess | undefined;
  after(() => server?.kill());

  it('scores answers with the reward model, judges pairs in both orders through dpo serve, and writes no key', async () => {
    const policy = tinyModel(path.join(root, 'policy'), { seed: 1 });
    const reference = tinyModel(path.join(root, 'reference'), { seed: 2 });
    const judgeModel = tinyModel(path.join(root, 'judge'), { seed: 3 });
    const reward = tinyRewardModel(path.join(root, 'reward'), { seed: 4 }).dir;
    const prompts = writeJsonl(path.join(root, 'prompts.jsonl'), [{ prompt: 'hello' }, { prompt: 'ab' }]);
    server = spawn(process.execPath, [BIN, 'serve', '--model', judgeModel, '--port', '0', '--api-key', KEY], {
      env: { ...process.env, DPO_BACKEND: 'wasm' },
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (d) => {
        out += String(d);
        const m = /serving \S+ at (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.on('exit', (c) => reject(new Error(`dpo serve exited ${c}`)));
    });
    const out = path.join(root, 'out');
    const r = spawnSync(
      process.execPath,
      [
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
        '6',
        '--reward-model',
        reward,
        '--judge-url',
        url,
        '--judge-model',
        'judge',
        '--out',
        out,
      ],
      { encoding: 'utf8', env: { ...process.env, DPO_BACKEND: 'wasm', DPO_JUDGE_API_KEY: KEY, XDG_CACHE_HOME: path.join(root, 'cache') }, timeout: 240_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = parseLines(fs.readFileSync(path.join(out, EVAL_FILES.results), 'utf8'), parseEvalResultLine, true);
    assert.deepEqual(lines.problems, []);
    assert.equal(lines.records.length, 2 * 2 * 2);
    for (const l of lines.records) assert.ok(Number.isFinite(l.reward), `every answer has a reward-model score: ${JSON.stringify(l)}`);
    const policyLines = lines.records.filter((l) => l.model === 'policy');
    for (const l of policyLines) {
      const ref = lines.records.find((x) => x.model === 'reference' && x.prompt_index === l.prompt_index && x.sample === l.sample)!;
      const rm = l.verdicts!['reward-model'];
      assert.equal(rm.verdict, l.reward! > ref.reward! ? 'win' : l.reward! < ref.reward! ? 'loss' : 'tie');
      const llm = l.verdicts!['llm:judge'];
      assert.ok(llm, JSON.stringify(l.verdicts));
      if (l.text === ref.text) assert.equal(llm.verdict, 'tie', 'identical answers tie without a request');
      else {
        assert.deepEqual(llm.orders!.map((o) => o.first).sort(), ['policy', 'reference'], 'both orders');
        assert.equal(llm.verdict, 'tie', "a tiny model's answer names no winner");
      }
    }
    const summary = parseEvalSummary(JSON.parse(fs.readFileSync(path.join(out, EVAL_FILES.summary), 'utf8')));
    assert.ok(summary.ok, summary.ok ? '' : summary.error);
    const s = summary.value;
    assert.equal(s.judges['reward-model'].kind, 'reward-model');
    assert.equal(s.judges['llm:judge'].win_rate, 0.5, 'all ties');
    assert.ok(Number.isFinite(s.models.policy.mean_reward!) && Number.isFinite(s.models.reference.mean_reward!));
    for (const f of fs.readdirSync(out)) assert.ok(!fs.readFileSync(path.join(out, f), 'utf8').includes(KEY), `${f} holds no key`);
  });
});
