/// <reference types="mocha" />
// Inside a real VS Code extension host: "DPO: Show Evaluation" over the runs folder's evaluation
// folders (written by hand per the contract), a new summary.json listed without a reload, "Add as
// pair" appending the better answer by the chosen judge (and refusing a tie), and "DPO: Evaluate
// Model" refusing a model outside a run without prompts before anything runs.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DpoExtensionApi } from '../../../src/extension/extension';
import type { CommandResult } from '../../../src/extension/commands';
import type { EvaluatePanel } from '../../../src/extension/evaluate-panel';
import { HandPair, writeEvalFolder, writeRunFolder } from '../../unit/helpers/eval-folders';
import { until, waitForExtension } from './wait';

const PAIRS: HandPair[] = [
  { prompt: 'Say hi.', policy: 'Hello there!', reference: 'hi', verdicts: { 'llm:j': 'win', rm: 'loss' } },
  { prompt: 'Count.', policy: '1 2 3', reference: '1, 2, 3', verdicts: { 'llm:j': 'tie' } },
];

describe('Evaluate panel and commands', () => {
  let workspace: string;
  let runs: string;
  let panel: EvaluatePanel;

  before(async () => {
    const ext = await waitForExtension<DpoExtensionApi>('dpo-studio.dpo-studio');
    await ext.activate();
    workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    runs = path.join(workspace, '.dpo', 'runs');
    writeRunFolder(path.join(runs, 'eval-a'));
    writeEvalFolder(path.join(runs, 'eval-a', 'eval', 'checkpoint-5'), { kl: 0.2, judges: { 'llm:j': 0.6, rm: 0.4 }, pairs: PAIRS });
    writeEvalFolder(path.join(runs, 'eval-a', 'eval', 'final'), { step: 10, kl: 0.5, judges: { 'llm:j': 0.7 }, pairs: PAIRS });
  });

  after(() => panel?.dispose());

  it('contributes both commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['dpo.evaluateModel', 'dpo.showEvaluation']) assert.ok(all.includes(id), id);
  });

  it("lists the runs' evaluations, and a new one as soon as its summary.json is written", async () => {
    const pairsFile = path.join(workspace, 'eval-pairs.jsonl');
    const r = (await vscode.commands.executeCommand('dpo.showEvaluation', { pairsFile })) as CommandResult & { panel: EvaluatePanel };
    assert.ok(r.ok);
    panel = r.panel;
    await panel.loaded;
    const names = () => panel.evaluations.map((e) => `${e.series}/${e.name}`).sort();
    await until(panel.onDidList, () => names().length === 2);
    assert.deepEqual(names(), ['eval-a/checkpoint-5', 'eval-a/final']);
    assert.deepEqual(panel.evaluations.map((e) => e.step).sort(), [10, 5]);
    writeEvalFolder(path.join(runs, 'eval-a', 'eval', 'checkpoint-8'), { kl: 0.3, judges: { 'llm:j': 0.65 }, pairs: PAIRS });
    await until(panel.onDidList, () => names().includes('eval-a/checkpoint-8'));
  });

  it('"Add as pair" appends the answer the judge preferred as chosen, and refuses a tie', async () => {
    const dir = path.join(runs, 'eval-a', 'eval', 'checkpoint-5');
    const file = path.join(workspace, 'eval-pairs.jsonl');
    await panel.addPair({ dir, promptIndex: 0, sample: 0, judge: 'llm:j' });
    await panel.addPair({ dir, promptIndex: 0, sample: 0, judge: 'rm' });
    assert.deepEqual(
      fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { prompt: 'Say hi.', chosen: 'Hello there!', rejected: 'hi' },
        { prompt: 'Say hi.', chosen: 'hi', rejected: 'Hello there!' },
      ],
    );
    assert.deepEqual(panel.lastAdded, { file, line: 2 });
    await panel.addPair({ dir, promptIndex: 1, sample: 0, judge: 'llm:j' });
    assert.match(panel.lastNotice ?? '', /a tie/);
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 2);
    // Only folders the panel listed: a path the webview makes up is refused.
    await assert.rejects(panel.addPair({ dir: '/etc', promptIndex: 0, sample: 0, judge: 'llm:j' }), /not an evaluation shown in this panel/);
  });

  it("Evaluate Model evaluates a run's final model and a checkpoint with a reward model, and the panel lists both", async () => {
    const model = path.join(workspace, 'models', 'eval-tiny');
    const made = (await vscode.commands.executeCommand('dpo.makeTinyModel', { out: model })) as CommandResult;
    assert.ok(made.ok, made.error);
    const data = path.join(workspace, 'eval-pairs.jsonl');
    fs.writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Q${i}:`, chosen: ' yes', rejected: ' no' })).join('\n') + '\n');
    const started = (await vscode.commands.executeCommand('dpo.newTrainingRun', {
      model,
      data,
      name: 'eval-run',
      config: { max_steps: 4, save_steps: 2, eval_steps: 2, batch_size: 2, eval_fraction: 0.25 },
    })) as CommandResult;
    assert.ok(started.ok, started.error);
    const ext = await waitForExtension<DpoExtensionApi>('dpo-studio.dpo-studio');
    const session = ext.exports.runs.all().find((x) => x.runDir === started.runDir)!;
    assert.equal((await session.ended).status, 'completed');
    // A reward model as TRL's RewardTrainer writes one (the tiny helper, run in a Node process of its own).
    const reward = path.join(workspace, 'models', 'eval-reward');
    const helper = path.resolve(__dirname, '../../unit/helpers/reward-model.js');
    const made2 = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(helper)}).tinyRewardModel(${JSON.stringify(reward)}, { seed: 4 })`], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      encoding: 'utf8',
    });
    assert.equal(made2.status, 0, made2.stderr);
    const runDir = started.runDir!;
    const r = (await vscode.commands.executeCommand('dpo.evaluateModel', {
      models: [path.join(runDir, 'final'), path.join(runDir, 'checkpoints', 'step-2')],
      rewardModel: reward,
      samples: 2,
      maxNewTokens: 6,
    })) as CommandResult;
    assert.ok(r.ok, r.error);
    for (const name of ['final', 'checkpoint-2']) {
      const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'eval', name, 'summary.json'), 'utf8'));
      assert.equal(summary.judges['reward-model'].kind, 'reward-model', name);
      assert.ok(summary.win_rate >= 0 && summary.win_rate <= 1 && summary.win_rate_ci.length === 2, name);
      assert.ok(Number.isFinite(summary.kl) && Number.isFinite(summary.models.policy.mean_reward), name);
      const lines = fs
        .readFileSync(path.join(runDir, 'eval', name, 'results.jsonl'), 'utf8')
        .trim()
        .split('\n');
      assert.equal(lines.length, 3 * 2 * 2, `${name}: 3 held-out prompts × 2 samples × 2 models`);
    }
    const shown = (await vscode.commands.executeCommand('dpo.showEvaluation')) as CommandResult & { panel?: EvaluatePanel };
    assert.ok(shown.ok, shown.error);
  });

  it('Evaluate Model refuses a model outside a run without a prompts file, saying what to do', async () => {
    const r = (await vscode.commands.executeCommand('dpo.evaluateModel', { models: [path.join(workspace, 'some-model')] })) as CommandResult;
    assert.equal(r.ok, false);
    assert.match(r.error!, /no prompts for some-model: a model outside a run has no eval split; pick "A JSONL file of prompts…"/);
  });
});
