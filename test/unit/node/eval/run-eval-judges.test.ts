// runEval against a fake engine (a Node script speaking the protocol) whose answers and scores are
// chosen: the reward-model and implicit-reward judges, the run's eval split as default prompts, the
// verdicts, the summary's figures and the guards on what was written. The real engines: cli/eval.test.ts.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runEval } from '../../../../src/node/eval/run-eval';
import { PairJudge } from '../../../../src/node/eval/judge';
import { EVAL_FILES, EvalResultLine, parseEvalResultLine, parseEvalSummary, parseLines } from '../../../../src/protocol';
import { tempDir, writeJsonl } from '../../helpers/fixtures';

const root = tempDir('eval-judges');
const FAKE = path.join(root, 'fake-engine.js');
// Policy answers are "P" + seed + "x"·(seed+1) (longer with the seed), reference answers "R" + seed.
// probe/score: log π = −len(text), log π_ref = −len(text) − 0.25 (so every log-ratio is 0.25) and
// reward β·0.25. reward-model/score: 1 for a policy answer of an even seed, else 0: policy wins at
// even seeds, ties at odd ones. $FAKE_DELAY_MS delays each answer; $FAKE_PID_FILE collects the pids.
fs.writeFileSync(
  FAKE,
  `
const readline = require('node:readline');
const say = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const reply = (id, result) => say({ kind: 'reply', id, ok: true, result });
if (process.env.FAKE_PID_FILE) require('node:fs').appendFileSync(process.env.FAKE_PID_FILE, process.pid + '\\n');
const delay = Number(process.env.FAKE_DELAY_MS || 0);
say({ kind: 'event', type: 'engine/didStart', params: { protocolVersion: 1, pid: process.pid } });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const r = JSON.parse(line);
  const p = r.params;
  process.stderr.write('request ' + r.type + '\\n');
  if (r.type === 'probe/load') return reply(r.id, { architecture: 'Fake', parameters: 1, hasReference: true, chatTemplate: false });
  if (r.type === 'reward-model/load') return reply(r.id, { architecture: 'FakeForSequenceClassification', parameters: 1, chatTemplate: false });
  if (r.type === 'probe/generate') {
    const s = p.sampling.seed;
    const text = p.which === 'policy' ? 'P' + s + 'x'.repeat(s + 1) : 'R' + s;
    return setTimeout(() => reply(r.id, { text, tokens: text.length, reason: 'length', ids: [...text].map((c) => c.charCodeAt(0)) }), delay);
  }
  if (r.type === 'probe/score') {
    const n = p.responseIds ? p.responseIds.length : p.response.length;
    return reply(r.id, { tokens: [], policyLogp: -n, referenceLogp: -n - 0.25, reward: p.beta * 0.25 });
  }
  if (r.type === 'reward-model/score') return reply(r.id, { score: p.response[0] === 'P' && Number(p.response[1]) % 2 === 0 ? 1 : 0 });
  say({ kind: 'reply', id: r.id, ok: false, error: 'unknown ' + r.type });
});
`,
);

function fakeModel(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  return dir;
}

/** A run folder with final/, a config naming its data and β, and pairs.jsonl eval records of lines 2 and 4. */
function fakeRun(dir: string, beta: number): string {
  fakeModel(path.join(dir, 'final'));
  const data = writeJsonl(
    path.join(dir, 'data.jsonl'),
    ['a', 'b', 'c', 'd'].map((p) => ({ prompt: `prompt ${p}`, chosen: 'yes', rejected: 'no' })),
  );
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model: fakeModel(path.join(dir, 'base')), data, beta, eval_fraction: 0.5, engine: 'tfjs' }));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
  writeJsonl(path.join(dir, 'pairs.jsonl'), [
    { step: 0, split: 'train', line: 1, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 },
    ...[2, 4].map((line) => ({ step: 5, split: 'eval', line, chosen_reward: 0, rejected_reward: 0, margin: 0, loss: 0.69 })),
  ]);
  return dir;
}

describe('runEval with judges (fake engine)', () => {
  it("judges by reward model and implicit reward, on the run's eval split, and writes what the guards accept", async () => {
    const run = fakeRun(path.join(root, 'run'), 0.1);
    const other = fakeRun(path.join(root, 'other'), 2);
    const out = path.join(root, 'out');
    const logged: string[] = [];
    const phases = new Set<string>();
    const summary = await runEval(
      {
        model: run,
        samples: 3,
        maxNewTokens: 8,
        seed: 4,
        temperature: 0.7,
        rewardModel: fakeModel(path.join(root, 'rm')),
        implicitRun: other,
        out,
        embedded: { enginePath: FAKE },
      },
      { log: (l) => logged.push(l), onProgress: (p) => phases.add(p.phase) },
    );
    assert.deepEqual([...phases], ['loading', 'sampling', 'writing']);
    const lines = parseLines(fs.readFileSync(path.join(out, EVAL_FILES.results), 'utf8'), parseEvalResultLine, true);
    assert.deepEqual(lines.problems, []);
    const rows: EvalResultLine[] = lines.records;
    // 2 eval prompts (data lines 2 and 4) x 3 samples x 2 models; seeds 4-6 and 7-9 (one per prompt and sample), shared by both models.
    assert.equal(rows.length, 12);
    assert.deepEqual([...new Set(rows.map((r) => r.prompt))], ['prompt b', 'prompt d']);
    assert.deepEqual([...new Set(rows.map((r) => r.seed))], [4, 5, 6, 7, 8, 9]);
    const p0 = rows.filter((r) => r.model === 'policy' && r.prompt_index === 0);
    assert.deepEqual(
      p0.map((r) => r.text),
      ['P4xxxxx', 'P5xxxxxx', 'P6xxxxxxx'],
    );
    // Policy wins at even seeds (reward 1 vs 0: 4, 6, 8), ties at odd ones; the implicit reward (β = 2 · 0.25 each) always ties.
    assert.deepEqual(
      p0.map((r) => r.verdicts?.['reward-model'].verdict),
      ['win', 'tie', 'win'],
    );
    assert.equal(p0[0].verdicts?.['reward-model'].margin, 1);
    assert.equal(p0[0].implicit_reward, 0.5);
    assert.equal(p0[0].verdicts?.['implicit-reward'].verdict, 'tie');
    assert.equal(
      rows.filter((r) => r.model === 'reference').every((r) => r.verdicts === undefined && r.reward === 0),
      true,
    );

    const onDisk = parseEvalSummary(JSON.parse(fs.readFileSync(path.join(out, EVAL_FILES.summary), 'utf8')));
    assert.ok(onDisk.ok, onDisk.ok ? '' : onDisk.error);
    const rm = summary.judges['reward-model'];
    assert.deepEqual([rm.wins, rm.ties, rm.losses], [3, 3, 0]);
    assert.equal(rm.win_rate, 0.75);
    assert.equal(summary.win_rate, 0.75); // the first judge's, repeated at the top
    assert.equal(summary.judges['implicit-reward'].independent, false);
    assert.equal(summary.judges['implicit-reward'].win_rate, 0.5);
    assert.equal(summary.kl, 0.25);
    assert.deepEqual(summary.kl_ci, [0.25, 0.25]);
    assert.equal(summary.kl_exact_sampler, false); // temperature 0.7
    assert.equal(summary.models.policy.mean_reward, 0.5);
    assert.equal(summary.models.reference.mean_reward, 0);
    assert.equal(summary.run, run);
    assert.equal(summary.reference, path.join(run, 'base')); // no reference_model: the run's base model
    // Policy answers are 7 to 12 characters (seeds 4 to 9), reference ones 2.
    assert.equal(rm.mean_length_policy, 9.5);
    assert.equal(rm.mean_length_reference, 2);

    // The same command again: nothing left to do, no engine started, the same summary figures.
    const again = await runEval(
      {
        model: run,
        samples: 3,
        maxNewTokens: 8,
        seed: 4,
        temperature: 0.7,
        rewardModel: path.join(root, 'rm'),
        implicitRun: other,
        out,
        embedded: { enginePath: FAKE },
      },
      { log: (l) => logged.push(l) },
    );
    assert.deepEqual({ ...again, created: '' }, { ...summary, created: '' });
    assert.ok(logged.some((l) => /resuming: 6 of 6 answer pairs/.test(l)));
    // Other options into the same folder are refused, naming the option.
    await assert.rejects(
      runEval({ model: run, samples: 3, maxNewTokens: 8, seed: 9, temperature: 0.7, out, embedded: { enginePath: FAKE } }),
      /holds an evaluation made with seed = 4, not 9/,
    );
  });

  it('an abort closes the engine and keeps the answers made; the same options again finish the rest', async () => {
    const run = fakeRun(path.join(root, 'run-abort'), 0.1);
    const out = path.join(root, 'out-abort');
    const pidFile = path.join(root, 'pids');
    process.env.FAKE_PID_FILE = pidFile;
    process.env.FAKE_DELAY_MS = '150';
    const controller = new AbortController();
    const options = { model: run, samples: 3, maxNewTokens: 8, seed: 0, temperature: 1, out, embedded: { enginePath: FAKE } };
    try {
      await assert.rejects(
        runEval(options, {
          signal: controller.signal,
          onProgress: (p) => void (p.phase === 'sampling' && p.done === 2 && setTimeout(() => controller.abort(), 50)),
        }),
        /evaluation cancelled/,
      );
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the engine process is gone when runEval rejects');
      const kept = fs.readFileSync(path.join(out, EVAL_FILES.results), 'utf8').trim().split('\n');
      assert.equal(kept.length, 4); // 2 whole pairs; the third was abandoned mid-generation
      process.env.FAKE_DELAY_MS = '0';
      const summary = await runEval(options);
      assert.equal(summary.models.policy.answers, 6);
      assert.equal(fs.readFileSync(path.join(out, EVAL_FILES.results), 'utf8').trim().split('\n').length, 12);
    } finally {
      delete process.env.FAKE_PID_FILE;
      delete process.env.FAKE_DELAY_MS;
    }
  });

  it("a pairwise judge's verdicts (both orders) are kept on policy lines and summarised as an independent judge", async () => {
    const seen: string[] = [];
    const pairJudge: PairJudge = {
      name: 'llm:fake',
      kind: 'llm',
      source: 'fake',
      // Prefers the longer answer in both orders, except at seed 1 where the orders disagree: a tie.
      judge: async (pair) => {
        seen.push(`${pair.promptIndex}:${pair.sample}:${pair.policy}|${pair.reference}`);
        const orders = [
          { first: 'policy' as const, preferred: 'policy' as const, reason: 'longer' },
          { first: 'reference' as const, preferred: pair.policy.startsWith('P1') ? ('reference' as const) : ('policy' as const), reason: 'longer' },
        ];
        return { verdict: pair.policy.startsWith('P1') ? 'tie' : 'win', orders };
      },
    };
    const model = fakeModel(path.join(root, 'm-llm'));
    const prompts = writeJsonl(path.join(root, 'p-llm.jsonl'), [{ prompt: 'q' }, { prompt: [{ role: 'user', content: 'r' }] }]);
    const out = path.join(root, 'out-llm');
    const summary = await runEval({
      model,
      reference: model,
      prompts,
      samples: 2,
      maxNewTokens: 4,
      seed: 0,
      temperature: 1,
      pairJudge,
      out,
      embedded: { enginePath: FAKE },
    });
    assert.deepEqual(seen.sort(), ['0:0:P0x|R0', '0:1:P1xx|R1', '1:0:P2xxx|R2', '1:1:P3xxxx|R3']);
    const j = summary.judges['llm:fake'];
    assert.deepEqual([j.kind, j.independent, j.source, j.wins, j.ties, j.losses, j.win_rate], ['llm', true, 'fake', 3, 1, 0, 0.875]);
    const rows = fs
      .readFileSync(path.join(out, EVAL_FILES.results), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EvalResultLine);
    assert.equal(rows.find((r) => r.model === 'policy' && r.prompt_index === 0 && r.sample === 1)!.verdicts!['llm:fake'].orders![1].preferred, 'reference');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, EVAL_FILES.options), 'utf8')).judge, { name: 'llm:fake', model: 'fake' });
  });

  it('a model folder without --reference or --prompts is refused with what to give', async () => {
    const m = fakeModel(path.join(root, 'plain'));
    await assert.rejects(
      runEval({ model: m, samples: 1, maxNewTokens: 4, seed: 0, temperature: 1, out: path.join(root, 'o2') }),
      /give the reference model with --reference/,
    );
    await assert.rejects(
      runEval({ model: m, reference: m, samples: 1, maxNewTokens: 4, seed: 0, temperature: 1, out: path.join(root, 'o3') }),
      /not in a run folder: give the prompts with --prompts/,
    );
    const bad = writeJsonl(path.join(root, 'bad.jsonl'), [{ prompt: 'ok' }, { question: 'no prompt' }]);
    await assert.rejects(
      runEval({ model: m, reference: m, prompts: bad, samples: 1, maxNewTokens: 4, seed: 0, temperature: 1, out: path.join(root, 'o4') }),
      /bad\.jsonl:2: field "prompt" must be a string or a non-empty list/,
    );
  });
});
