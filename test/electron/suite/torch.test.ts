/// <reference types="mocha" />
// The PyTorch engine driven from the extension, in a real VS Code: set-up against the project's own
// environment (a cheap check when nothing changed), a torch run from the command to "done" with
// metrics and the engine · device shown, Stop then Resume on the same engine, the set-up offered when
// the environment is missing, and a clear error for a bad interpreter path.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DpoExtensionApi } from '../../../src/extension/extension';
import type { CommandResult } from '../../../src/extension/commands';
import type { SetupCommandResult } from '../../../src/extension/setup-torch-command';
import type { RunSession } from '../../../src/extension/run-manager';
import { waitForExtension } from './wait';

function untilStep(api: DpoExtensionApi, session: RunSession, step: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => session.step >= step && (sub.dispose(), resolve());
    const sub = api.runs.onDidChange((s) => s === session && check());
    check();
  });
}

function records(runDir: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('the PyTorch engine from the extension', () => {
  let api: DpoExtensionApi;
  let workspace: string;
  let model: string;
  let data: string;
  const savedEnv = process.env.DPO_TORCH_ENV;

  before(async () => {
    api = await (await waitForExtension<DpoExtensionApi>('dpo-studio.dpo-studio')).activate();
    workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    data = path.join(workspace, 'torch-pairs.jsonl');
    fs.copyFileSync(path.join(vscode.extensions.getExtension('dpo-studio.dpo-studio')!.extensionPath, 'examples', 'preferences.jsonl'), data);
    const made = await vscode.commands.executeCommand<CommandResult>('dpo.makeTinyModel', { out: path.join(workspace, 'models', 'torch-tiny') });
    assert.ok(made.ok, made.error);
    model = made.path!;
  });

  afterEach(async () => {
    if (savedEnv === undefined) delete process.env.DPO_TORCH_ENV;
    else process.env.DPO_TORCH_ENV = savedEnv;
    await vscode.workspace.getConfiguration('dpo').update('python.path', undefined, vscode.ConfigurationTarget.Global);
  });

  it("Set Up PyTorch Engine against the project's environment reports torch and the CPU, and is a cheap check", async () => {
    const first = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
    assert.ok(first.ok, first.error);
    assert.equal(first.setup!.installed, false);
    assert.match(first.setup!.report.torch, /^2\.13\.0/);
    assert.deepEqual(first.setup!.report.gpus, []);
    const t0 = performance.now();
    const again = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
    const ms = performance.now() - t0;
    assert.ok(again.ok && again.setup!.cached, 'the second set-up starts no Python');
    console.log(`set-up with nothing changed: ${ms.toFixed(0)} ms`);
  });

  it('a torch run started from the command reaches "done" with metrics; the engine and device are shown', async () => {
    const tooltips: string[] = [];
    const sub = api.runs.onDidChange(() => tooltips.push(api.statusBar.tooltip));
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      engine: 'torch',
      config: { max_steps: 3, batch_size: 2, learning_rate: 1e-3, eval_fraction: 0, max_length: 64 },
    });
    assert.ok(r.ok, r.error);
    const written = JSON.parse(fs.readFileSync(r.path!, 'utf8'));
    assert.equal(written.engine, 'torch', 'the config file names its engine');
    const session = api.runs.all().find((s) => s.runDir === r.runDir)!;
    const end = await session.ended;
    sub.dispose();
    assert.equal(end.status, 'completed', end.message);
    assert.equal(session.engineName, 'torch');
    assert.equal(session.engineLabel, 'torch · cpu');
    assert.ok(
      tooltips.some((t) => t.includes('torch · cpu')),
      `tooltips: ${tooltips.join(' | ')}`,
    );
    const rs = records(r.runDir!);
    assert.deepEqual(
      rs.filter((m) => m.kind === 'metrics' && m.split === 'train').map((m) => m.step),
      [1, 2, 3],
    );
    assert.ok(rs.filter((m) => m.kind === 'metrics').every((m) => Number.isFinite(m.loss)));
    const last = rs.filter((m) => m.kind === 'status').pop()!;
    assert.deepEqual([last.status, last.engine], ['completed', 'torch']);
    assert.match(String(last.device), /^cpu/, 'the status records say where it ran (reopened runs show it)');
    assert.ok(fs.existsSync(path.join(r.runDir!, 'final', 'config.json')));
  });

  it('Stop then Resume a torch run: a checkpoint, then the same engine continues past it', async () => {
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      engine: 'torch',
      startAnother: true,
      config: { max_steps: 500, batch_size: 1, learning_rate: 1e-3, eval_fraction: 0, save_steps: 1000, max_length: 64 },
    });
    assert.ok(r.ok, r.error);
    const session = api.runs.all().find((s) => s.runDir === r.runDir)!;
    await untilStep(api, session, 1);
    const stopped = await vscode.commands.executeCommand<CommandResult>('dpo.stopRun', r.runDir);
    assert.ok(stopped.ok, stopped.error);
    assert.equal(session.status, 'stopped');
    const ckpts = fs.readdirSync(path.join(r.runDir!, 'checkpoints')).filter((n) => /^step-\d+$/.test(n));
    assert.ok(ckpts.length >= 1, 'a checkpoint was written at the stop');
    const resumed = await vscode.commands.executeCommand<CommandResult>('dpo.resumeRun', r.runDir);
    assert.ok(resumed.ok, resumed.error);
    const second = api.runs
      .all()
      .filter((s) => s.runDir === r.runDir)
      .pop()!;
    assert.notEqual(second, session);
    assert.equal(second.engineName, 'torch', 'resumed on the engine that wrote the run');
    await untilStep(api, second, session.step + 1);
    const end = await api.runs.stop(second);
    assert.equal(end.status, 'stopped', end.message);
    assert.ok(second.step > session.step, `resumed from ${session.step}, reached ${second.step}`);
  });

  it('a torch run without the environment offers the set-up instead of failing', async () => {
    process.env.DPO_TORCH_ENV = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-no-env-'));
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      engine: 'torch',
      startAnother: true,
      config: { max_steps: 1 },
    });
    assert.equal(r.ok, false);
    assert.equal(r.offered, 'dpo.setupTorch');
    assert.match(r.error!, /not set up .*Set Up PyTorch Engine/);
    fs.rmSync(process.env.DPO_TORCH_ENV, { recursive: true, force: true });
  });

  it('a bad interpreter path gets a clear error that names the setting and what to do', async () => {
    process.env.DPO_TORCH_ENV = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-bad-py-')), 'env');
    const config = vscode.workspace.getConfiguration('dpo');
    await config.update('python.path', '/nonexistent/bin/python3', vscode.ConfigurationTarget.Global);
    const missing = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
    assert.equal(missing.problem, 'no-python');
    assert.match(missing.error!, /dpo\.python\.path \(\/nonexistent\/bin\/python3\) does not exist\. Install Python 3\.10 or newer/);
    await config.update('python.path', '/bin/false', vscode.ConfigurationTarget.Global);
    const notPython = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
    assert.equal(notPython.problem, 'bad-python');
    assert.match(notPython.error!, /dpo\.python\.path \(\/bin\/false\) is not a working Python interpreter/);
    assert.equal(fs.existsSync(process.env.DPO_TORCH_ENV), false, 'nothing was created');
    fs.rmSync(path.dirname(process.env.DPO_TORCH_ENV), { recursive: true, force: true });
  });
});
