/// <reference types="mocha" />
// Inside a real VS Code extension host: commands, a run from the command through the engine
// process to its run folder, stop with a checkpoint, resume, and a bad config's error.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DpoExtensionApi } from '../../../src/extension/extension';
import type { CommandResult } from '../../../src/extension/commands';
import { until, waitForExtension } from './wait';

const EXTENSION_ID = 'dpo-studio.dpo-studio';
const COMMAND_IDS = [
  'dpo.newTrainingRun',
  'dpo.startRunFromConfig',
  'dpo.stopRun',
  'dpo.resumeRun',
  'dpo.showRuns',
  'dpo.makeTinyModel',
  'dpo.openEngineLog',
  'dpo.probeModel',
  'dpo.openMetrics',
  'dpo.exportMetrics',
  'dpo.exportTensorBoard',
  'dpo.labelPairs',
  'dpo.convertPreferences',
  'dpo.reviewSuspiciousPairs',
  'dpo.writeNoiseAwareConfig',
  'dpo.setupTorch',
  'dpo.exportLaunchScript',
  'dpo.serveModel',
  'dpo.evaluateModel',
  'dpo.showEvaluation',
  'dpo.exportGguf',
];

describe('DPO Studio extension', () => {
  let api: DpoExtensionApi;
  let ext: vscode.Extension<DpoExtensionApi>;
  let workspace: string;
  let model: string;
  let data: string;

  before(async () => {
    ext = await waitForExtension(EXTENSION_ID);
    assert.equal(ext.isActive, false, 'not activated before a DPO command (no "*" activation)');
    const t0 = performance.now();
    api = await ext.activate();
    console.log(`activation: ${(performance.now() - t0).toFixed(1)} ms including module load`);
    workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    data = path.join(workspace, 'pairs.jsonl');
    fs.copyFileSync(path.join(ext.extensionPath, 'examples', 'preferences.jsonl'), data);
    console.log(`activation took ${api.activationMs.toFixed(1)} ms`);
  });

  it('runs from the installed VSIX (the bundles only), or from the checkout in Electron mode', () => {
    const has = (f: string) => fs.existsSync(path.join(ext.extensionPath, f));
    assert.ok(has('dist/extension.js') && has('dist/engine.js') && has('dist/tfjs-backend-wasm.wasm'), ext.extensionPath);
    assert.equal(path.basename(ext.packageJSON.main as string), 'extension.js');
    // The Extensions view shows the icon (a 128 px PNG, what the marketplace asks for), shipped in the VSIX.
    const icon = path.join(ext.extensionPath, ext.packageJSON.icon as string);
    assert.deepEqual([...fs.readFileSync(icon).subarray(1, 4)], [...Buffer.from('PNG')], `${icon} is a PNG`);
    assert.equal(fs.readFileSync(icon).readUInt32BE(16), 128, 'the icon is 128 px wide');
    // Electron mode (DPO_VSCODE=electron) loads the checkout; the default installs the VSIX first.
    if (process.env.DPO_TEST_FROM_VSIX)
      assert.ok(!has('src') && !has('out/src') && !has('test') && !has('node_modules'), `${ext.extensionPath} holds only what ships`);
    else assert.ok(has('src/extension/extension.ts'), 'Electron mode runs the checkout');
  });

  it('DPO: Label Pairs opens the labeling editor (by size) and reports unusable lines as diagnostics', async () => {
    const file = path.join(workspace, 'to-label.jsonl');
    fs.writeFileSync(file, ['{"prompt": "p", "responses": ["a", "b"]}', '{"prompt": "p", "responses": ["a", "a"]}', 'nope'].join('\n') + '\n');
    const uri = vscode.Uri.file(file);
    // Both bad lines, however the publishing is split up on a loaded machine.
    const opened = until(vscode.languages.onDidChangeDiagnostics, () => vscode.languages.getDiagnostics(uri).length >= 2);
    const result = (await vscode.commands.executeCommand('dpo.labelPairs', uri)) as CommandResult;
    assert.equal(result.ok, true);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(tab instanceof vscode.TabInputCustom && tab.viewType === 'dpo.labelPairs' && tab.uri.fsPath === file, 'the labeling editor is the active tab');
    await opened;
    const diagnostics = vscode.languages.getDiagnostics(uri).map((d) => [d.range.start.line + 1, d.message, d.severity]);
    assert.deepEqual(
      diagnostics.map(([line]) => line),
      [2, 3],
    );
    assert.match(String(diagnostics[0][1]), /identical/);
    assert.match(String(diagnostics[1][1]), /not valid JSON/);
    assert.ok(diagnostics.every(([, , severity]) => severity === vscode.DiagnosticSeverity.Error));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('registers the DPO commands, in the DPO category, activated by them only', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of COMMAND_IDS) assert.ok(all.includes(id), id);
    const pkg = ext.packageJSON as {
      activationEvents: string[];
      contributes: { commands: { command: string; category: string }[]; jsonValidation: { fileMatch: string[] }[] };
    };
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.deepEqual(
      pkg.contributes.commands.map((c) => c.category),
      COMMAND_IDS.map(() => 'DPO'),
    );
    assert.deepEqual(pkg.contributes.jsonValidation[0].fileMatch, ['*.dpo.json', 'dpo.config.json']);
  });

  it('Make Tiny Model writes a Hugging Face folder (through the CLI process)', async () => {
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.makeTinyModel', { out: path.join(workspace, 'models', 'tiny') });
    assert.ok(r.ok, r.error);
    model = r.path!;
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(fs.existsSync(path.join(model, f)), f);
  });

  it('Serve Model serves the model on a localhost URL; a second invocation stops it', async () => {
    const r = await vscode.commands.executeCommand<CommandResult & { url?: string; stopped?: boolean }>('dpo.serveModel', { modelDir: model });
    assert.ok(r.ok, r.error);
    assert.match(r.url!, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = (await (await fetch(`${r.url}/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['tiny'],
    );
    const c = await fetch(`${r.url}/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', prompt: 'ab', max_tokens: 3, seed: 1 }) });
    assert.equal(c.status, 200);
    const stopped = await vscode.commands.executeCommand<CommandResult & { stopped?: boolean }>('dpo.serveModel');
    assert.ok(stopped.ok && stopped.stopped);
    await assert.rejects(fetch(`${r.url}/models`), 'the server is closed');
  });

  it('New Training Run writes a run config and trains to "done"; the run folder holds metrics and a final model', async () => {
    const seen: string[] = [];
    const sub = api.runs.onDidChange(() => seen.push(api.statusBar.text));
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      config: { max_steps: 4, batch_size: 4, learning_rate: 1e-3, eval_steps: 2 },
    });
    assert.ok(r.ok, r.error);
    assert.match(r.path!, /\.dpo\/configs\/run-.*\.dpo\.json$/);
    const session = api.runs.all().find((s) => s.runDir === r.runDir)!;
    const end = await session.ended;
    sub.dispose();
    assert.equal(end.status, 'completed', end.message);
    assert.ok(fs.existsSync(path.join(r.runDir!, 'final', 'model.safetensors')));
    const metrics = fs
      .readFileSync(path.join(r.runDir!, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      metrics.filter((m) => 'loss' in m).map((m) => m.step),
      [1, 2, 3, 4],
    );
    assert.ok(
      seen.some((t) => /^\$\(pulse\) DPO \d\/4 loss \d\.\d{4}/.test(t)),
      `status bar showed: ${seen.join(' | ')}`,
    );
    assert.ok(r.runDir!.startsWith(path.join(workspace, '.dpo', 'runs')), 'runs go to dpo.runsFolder');
  });

  it('New Training Run in two stages (a model made just now): SFT on the chosen answers, then DPO from the SFT model', async () => {
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      sftFirst: true,
      sftConfig: { max_steps: 3, batch_size: 2, eval_fraction: 0 },
      config: { max_steps: 2, batch_size: 2, eval_steps: 1, eval_fraction: 0.02 },
    });
    assert.ok(r.ok, r.error);
    assert.match(r.path!, /-2-dpo\.dpo\.json$/);
    const sftDir = r.runDir!;
    const sftConfig = JSON.parse(fs.readFileSync(r.path!.replace(/-2-dpo\.dpo\.json$/, '-1-sft.dpo.json'), 'utf8'));
    assert.equal(sftConfig.mode, 'sft');
    assert.equal(sftConfig.learning_rate, 3e-3, "the SFT stage uses the demo's recipe");
    const dpoConfig = JSON.parse(fs.readFileSync(r.path!, 'utf8'));
    assert.equal(dpoConfig.model, path.join(sftDir, 'final'), 'stage 2 starts from the SFT model, which is also its reference');
    const sft = api.runs.all().find((s) => s.runDir === sftDir)!;
    assert.equal(sft.mode, 'sft');
    assert.equal((await sft.ended).status, 'completed');
    await until(api.runs.onDidChange, () => api.runs.all().some((s) => s.runDir === dpoConfig.output_dir));
    const dpo = api.runs.all().find((s) => s.runDir === dpoConfig.output_dir)!;
    const end = await dpo.ended;
    assert.equal(end.status, 'completed', end.message);
    const written = JSON.parse(fs.readFileSync(path.join(dpoConfig.output_dir, 'config.json'), 'utf8'));
    assert.equal(written.model, path.join(sftDir, 'final'));
    assert.equal(written.mode, 'dpo');
  });

  it('Stop Run stops after the step with a checkpoint; Resume Run continues it', async () => {
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      config: { max_steps: 400, batch_size: 2, learning_rate: 1e-3, eval_fraction: 0, save_steps: 1000 },
    });
    assert.ok(r.ok, r.error);
    const session = api.runs.all().find((s) => s.runDir === r.runDir)!;
    await until(api.runs.onDidChange, () => session.step >= 2);
    const stopped = await vscode.commands.executeCommand<CommandResult>('dpo.stopRun', r.runDir);
    assert.ok(stopped.ok, stopped.error);
    assert.equal(session.status, 'stopped');
    const ckpts = fs.readdirSync(path.join(r.runDir!, 'checkpoints')).filter((n) => /^step-\d+$/.test(n));
    assert.deepEqual(ckpts, [`step-${session.step}`]);
    const resumed = await vscode.commands.executeCommand<CommandResult>('dpo.resumeRun', r.runDir);
    assert.ok(resumed.ok, resumed.error);
    const second = api.runs
      .all()
      .filter((s) => s.runDir === r.runDir)
      .pop()!;
    assert.notEqual(second, session);
    await until(api.runs.onDidChange, () => second.step > session.step);
    const end = await api.runs.stop(second);
    assert.equal(end.status, 'stopped');
    assert.ok(second.step > session.step, `resumed from ${session.step}, reached ${second.step}`);
  });

  it('a bad run config is refused with an error naming the field', async () => {
    const file = path.join(workspace, 'bad.dpo.json');
    fs.writeFileSync(file, JSON.stringify({ model: 'models/tiny', data: 'pairs.jsonl', beta: -1, lerning_rate: 0.1 }));
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.startRunFromConfig', file);
    assert.equal(r.ok, false);
    assert.match(r.error!, /bad\.dpo\.json: 2 invalid field\(s\)/);
    assert.match(r.error!, /beta: must be > 0/);
    assert.match(r.error!, /lerning_rate: unknown field/);
  });

  it('a good run config file starts a run; relative paths resolve against it', async () => {
    const file = path.join(workspace, 'good.dpo.json');
    fs.writeFileSync(file, JSON.stringify({ model: 'models/tiny', data: 'pairs.jsonl', max_steps: 2, batch_size: 2, eval_fraction: 0 }));
    const r = await vscode.commands.executeCommand<CommandResult>('dpo.startRunFromConfig', file);
    assert.ok(r.ok, r.error);
    const end = await api.runs.all().find((s) => s.runDir === r.runDir)!.ended;
    assert.equal(end.status, 'completed');
  });

  it('Show Runs lists the run folders', async () => {
    const r = await vscode.commands.executeCommand<CommandResult & { runs: string[] }>('dpo.showRuns');
    assert.ok(r.runs.length >= 3, `${r.runs.length} runs`);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  });
});
