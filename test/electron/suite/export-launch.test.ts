/// <reference types="mocha" />
// "DPO: Export Launch Script" in a real VS Code, with arguments that skip the pickers: the CLI's
// launch.sh, accelerate.yaml and run.json are written beside the config with the nodes and GPUs
// asked for, and a config without output_dir gets a run folder that the result names.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DpoExtensionApi } from '../../../src/extension/extension';
import type { CommandResult } from '../../../src/extension/commands';
import { waitForExtension } from './wait';

type ExportResult = CommandResult & { files?: string[] };

describe('DPO: Export Launch Script', () => {
  let dir: string;

  before(async () => {
    // A fresh server on a busy machine can take longer than the default 30 s to register the extension.
    await (await waitForExtension<DpoExtensionApi>('dpo-studio.dpo-studio', 150_000)).activate();
    dir = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'export-launch');
    fs.mkdirSync(dir, { recursive: true });
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('writes launch.sh, accelerate.yaml and run.json for 2 nodes x 4 GPUs', async () => {
    const config = path.join(dir, 'cluster.json'); // not *.dpo.json: an argument skips the picker all the same
    fs.writeFileSync(config, JSON.stringify({ model: 'models/big', data: 'pairs.jsonl', output_dir: 'runs/big', dtype: 'bf16', accelerate_config: 'fsdp' }));
    const r = await vscode.commands.executeCommand<ExportResult>('dpo.exportLaunchScript', { config, nodes: 2, gpusPerNode: 4 });
    assert.ok(r.ok, r.error);
    const out = path.join(dir, 'launch-cluster');
    assert.deepEqual(
      r.files,
      ['launch.sh', 'accelerate.yaml', 'run.json'].map((f) => path.join(out, f)),
    );
    assert.equal(r.path, path.join(out, 'launch.sh'));
    const script = fs.readFileSync(path.join(out, 'launch.sh'), 'utf8');
    assert.match(script, /#SBATCH --nodes=2\n/);
    assert.match(script, /#SBATCH --gpus-per-node=4\n/);
    assert.match(script, /--num_machines 2 --num_processes 8/);
    const yaml = fs.readFileSync(path.join(out, 'accelerate.yaml'), 'utf8');
    assert.match(yaml, /distributed_type: FSDP/);
    assert.match(yaml, /num_machines: 2\n/);
    assert.match(yaml, /num_processes: 8\n/);
    assert.match(yaml, /mixed_precision: bf16/);
    const spec = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(spec.config.num_processes, 8);
    assert.equal(spec.config.engine, 'torch');
    assert.equal(spec.config.model, path.join(dir, 'models/big'), 'paths relative to the config file');
    assert.equal(spec.config.output_dir, path.join(dir, 'runs/big'));
    assert.equal(r.runDir, path.join(dir, 'runs/big'));
  });

  it('a config without output_dir gets a new run folder, the one run.json and the result name', async () => {
    const config = path.join(dir, 'nodir.dpo.json');
    fs.writeFileSync(config, JSON.stringify({ model: 'm', data: 'pairs.jsonl' }));
    const r = await vscode.commands.executeCommand<ExportResult>('dpo.exportLaunchScript', { config, nodes: 1, gpusPerNode: 2 });
    assert.ok(r.ok, r.error);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'launch-nodir.dpo', 'run.json'), 'utf8'));
    assert.ok(r.runDir && path.isAbsolute(r.runDir));
    assert.equal(spec.config.output_dir, r.runDir);
    assert.equal(spec.config.num_processes, 2);
  });

  it('a config the torch engine refuses fails with the field named', async () => {
    const config = path.join(dir, 'bad.dpo.json');
    fs.writeFileSync(config, JSON.stringify({ model: 'm', data: 'd', output_dir: 'o', reference_free: true }));
    const r = await vscode.commands.executeCommand<ExportResult>('dpo.exportLaunchScript', { config, nodes: 1, gpusPerNode: 1 });
    assert.equal(r.ok, false);
    assert.match(r.error!, /reference_free: the torch engine does not honour it/);
  });
});
