/// <reference types="mocha" />
// The editor's side of the PyTorch engine, in a real VS Code with the extension installed from its
// VSIX: a set-up without DPO_TORCH_ENV puts the environment in the extension's global storage (not
// the versioned extension folder) and records it, so the CLI finds it; a set-up whose pip install
// failed does not count (a torch run offers the set-up again) and its notification says pip's error;
// Probe Model uses the engine the run used. Fake interpreters stand in for pip (fake-python.ts).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DpoExtensionApi } from '../../../src/extension/extension';
import type { CommandResult } from '../../../src/extension/commands';
import type { SetupCommandResult } from '../../../src/extension/setup-torch-command';
import { resolveConfig } from '../../../src/protocol';
import { torchEnvRecordFile } from '../../../src/node/torch-env';
import { fakeBasePython } from './fake-python';
import { waitForExtension } from './wait';

const EXTENSION = 'dpo-studio.dpo-studio';

describe('the editor on the PyTorch engine', () => {
  let api: DpoExtensionApi;
  let workspace: string;
  let model: string;
  let data: string;
  let scratch: string;
  const saved = { DPO_TORCH_ENV: process.env.DPO_TORCH_ENV, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
  const config = () => vscode.workspace.getConfiguration('dpo');

  before(async () => {
    api = await (await waitForExtension<DpoExtensionApi>(EXTENSION)).activate();
    workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    data = path.join(workspace, 'editor-pairs.jsonl');
    fs.copyFileSync(path.join(vscode.extensions.getExtension(EXTENSION)!.extensionPath, 'examples', 'preferences.jsonl'), data);
    const made = await vscode.commands.executeCommand<CommandResult>('dpo.makeTinyModel', { out: path.join(workspace, 'models', 'editor-tiny') });
    assert.ok(made.ok, made.error);
    model = made.path!;
  });

  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-editor-torch-'));
    // The per-user record goes to a scratch folder, never the machine's real ~/.config.
    process.env.XDG_CONFIG_HOME = path.join(scratch, 'config');
  });

  afterEach(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await config().update('python.path', undefined, vscode.ConfigurationTarget.Global);
    for (const p of api.probePanels.slice()) p.dispose();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('Set Up without DPO_TORCH_ENV: the env goes to global storage, is recorded, and the CLI finds it there', async function () {
    const extensionPath = vscode.extensions.getExtension(EXTENSION)!.extensionPath;
    // Loaded from a checkout (DPO_VSCODE=electron), the checkout's own .cache/torch-env comes first by design.
    if (fs.existsSync(path.join(extensionPath, '.cache', 'torch-env'))) this.skip();
    delete process.env.DPO_TORCH_ENV;
    await config().update('python.path', fakeBasePython(path.join(scratch, 'base'), { pip: 'ok' }), vscode.ConfigurationTarget.Global);
    const r = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
    assert.ok(r.ok, r.error);
    const envDir = r.setup!.envDir;
    try {
      assert.equal(r.setup!.installed, true);
      assert.match(envDir, /[\\/]globalStorage[\\/]dpo-studio\.dpo-studio[\\/]torch-env$/);
      assert.ok(!envDir.startsWith(extensionPath), `${envDir} is outside the versioned extension folder ${extensionPath}`);
      const record = JSON.parse(fs.readFileSync(torchEnvRecordFile(), 'utf8')) as { envDir: string };
      assert.equal(record.envDir, envDir);
      // The CLI is another process started from the installed extension: it finds the env through the record.
      const cli = spawnSync(process.execPath, [path.join(extensionPath, 'bin', 'dpo.js'), 'setup-torch'], {
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        encoding: 'utf8',
      });
      assert.equal(cli.status, 0, cli.stderr);
      assert.ok(cli.stdout.includes(`torch environment: ${envDir} (up to date`), cli.stdout);
      const again = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
      assert.ok(again.ok && again.setup!.cached && again.setup!.envDir === envDir, 'the next set-up finds it and starts nothing');
    } finally {
      fs.rmSync(envDir, { recursive: true, force: true });
    }
  });

  it("a set-up whose pip install failed does not count: the notification ends in pip's error, and a torch run offers the set-up", async () => {
    process.env.DPO_TORCH_ENV = path.join(scratch, 'env');
    await config().update('python.path', fakeBasePython(path.join(scratch, 'base'), { pip: 'fail' }), vscode.ConfigurationTarget.Global);
    const r = await vscode.commands.executeCommand<SetupCommandResult>('dpo.setupTorch');
    assert.equal(r.ok, false);
    assert.equal(r.problem, 'install-failed');
    assert.match(r.notice!, /^DPO: the PyTorch engine's set-up failed: .*ERROR: No matching distribution found for jsonschema==4\.25\.1$/);
    assert.ok(fs.existsSync(path.join(process.env.DPO_TORCH_ENV, 'bin', 'python')), 'the failed set-up left an interpreter');
    const run = await vscode.commands.executeCommand<CommandResult>('dpo.newTrainingRun', {
      model,
      data,
      engine: 'torch',
      startAnother: true,
      config: { max_steps: 1 },
    });
    assert.equal(run.ok, false);
    assert.equal(run.offered, 'dpo.setupTorch', run.error);
  });

  /** A finished run folder as `engine` writes it: config.json, metrics.jsonl and final/. */
  function runFolder(name: string, engine: 'torch' | 'tfjs'): string {
    const dir = path.join(workspace, '.dpo', 'runs', name);
    fs.mkdirSync(path.join(dir, 'final'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(resolveConfig({ model, data, engine, output_dir: dir }, name)));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
    for (const f of fs.readdirSync(model)) fs.copyFileSync(path.join(model, f), path.join(dir, 'final', f));
    return path.join(dir, 'final');
  }

  it('Probe Model uses the engine the run used: torch for a torch run, the embedded engine otherwise', async () => {
    for (const [engine, label] of [
      ['torch', /^torch · cpu/],
      ['tfjs', /^tfjs · /],
    ] as const) {
      const r = await vscode.commands.executeCommand<CommandResult>('dpo.probeModel', { policyDir: runFolder(`probe-${engine}`, engine) });
      assert.ok(r.ok, r.error);
      const panel = api.probePanels[api.probePanels.length - 1];
      assert.match(await panel.loadedOn, label, `a ${engine} run is probed by its engine`);
      panel.dispose();
    }
  });
});
