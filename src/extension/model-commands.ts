// The model commands: make a tiny model (through the CLI, in its own process) and probe a tuned
// model beside its reference, on the engine its run used (config.json's engine).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRunFolders, modelPickItems } from './run-folders';
import { readRunConfig, runFile } from '../node/run-folder';
import { readSettings, runsRoot } from './settings';
import { ProbePanel, ProbeTarget } from './probe-panel';
import { EngineClient } from './engine-client';
import { nodeEngineCommand, torchEngineCommand } from '../node/engine-command';
import { torchInstalled } from '../node/engine-choice';
import { torchEnvDir } from '../node/torch-env';
import { EngineName, probeScoreNote } from '../protocol';
import { TorchEnvMissingError } from './run-manager';
import { offerTorchSetup } from './command-helpers';
import { runCli } from './run-cli';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';

export async function makeTinyModel(ctx: CommandContext, args: { out?: string; family?: 'gpt2' | 'llama' } = {}): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  let out = args.out;
  if (!out) {
    const ws = vscode.workspace.workspaceFolders?.[0];
    const picked = await vscode.window.showInputBox({
      title: 'DPO: Make Tiny Model — output folder',
      value: ws ? path.join(ws.uri.fsPath, '.dpo', 'models', 'tiny-gpt2') : '',
      validateInput: (v) => (path.isAbsolute(v) ? undefined : 'an absolute folder path'),
    });
    if (!picked) return { ok: false, error: 'cancelled' };
    out = picked;
  }
  const family = args.family ?? 'gpt2';
  // The CLI runs in its own Node process: the extension host never loads the engine.
  const code = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `DPO: making a tiny ${family} model` }, () =>
    runCli(ctx.cliPath, ['make-tiny-model', '--out', out!, '--family', family]),
  );
  ctx.output.appendLine(code.stderr.trim());
  if (code.code !== 0) return fail(`make-tiny-model failed: ${code.stderr.trim()}`, ctx);
  if (!args.out) void vscode.window.showInformationMessage(`DPO: tiny model written to ${vscode.workspace.asRelativePath(out)}`);
  return { ok: true, path: out };
}

/** The reference and β of a run folder's model (final/ or checkpoints/step-N/), from its config.json. */
function runOfModel(modelDir: string): { referenceDir: string; beta: number; dataFile: string; engine: EngineName; scoreNote?: string } | undefined {
  for (const dir of [path.dirname(modelDir), path.dirname(path.dirname(modelDir))]) {
    if (!fs.existsSync(runFile(dir, 'metrics'))) continue;
    const read = readRunConfig(dir);
    if (!read.ok) return undefined;
    const c = read.config;
    return { referenceDir: c.reference_model ?? c.model, beta: c.beta, dataFile: c.data, engine: c.engine, scoreNote: probeScoreNote(c.mode, c.loss_type) };
  }
  return undefined;
}

export async function probeModel(ctx: CommandContext, args: Partial<ProbeTarget> = {}): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  const settings = readSettings();
  let policyDir = args.policyDir;
  if (!policyDir) {
    const items = modelPickItems(listRunFolders(runsRoot(settings)));
    const pick = await vscode.window.showQuickPick([...items, { label: '$(folder-opened) Choose a model folder…', description: '', dir: '' }], {
      title: 'DPO: Probe Model',
      placeHolder: 'the tuned model to compare with its reference',
    });
    if (!pick) return { ok: false, error: 'cancelled' };
    policyDir = pick.dir || (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Probe This Model' }))?.[0]?.fsPath;
    if (!policyDir) return { ok: false, error: 'cancelled' };
  }
  const run = runOfModel(policyDir);
  let referenceDir = args.referenceDir ?? run?.referenceDir;
  if (!referenceDir) {
    referenceDir = (
      await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Reference', title: 'The reference model' })
    )?.[0]?.fsPath;
    if (!referenceDir) return { ok: false, error: 'cancelled' };
  }
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const promoteSetting = vscode.workspace.getConfiguration('dpo').get<string>('probe.promoteFile', '.dpo/probe-pairs.jsonl');
  const promoteFile = args.promoteFile ?? (path.isAbsolute(promoteSetting) || !ws ? promoteSetting : path.join(ws, promoteSetting));
  // The engine the run trained with reads its model the same way (LoRA adapters, dtype, chat template).
  const engineName = args.engine ?? run?.engine ?? 'tfjs';
  const target: ProbeTarget = {
    policyDir,
    referenceDir,
    beta: args.beta ?? run?.beta ?? settings.beta,
    promoteFile,
    dataFile: args.dataFile ?? run?.dataFile,
    engine: engineName,
    prompt: args.prompt,
    scoreNote: args.scoreNote ?? run?.scoreNote,
  };
  const envDir = torchEnvDir();
  if (engineName === 'torch' && !torchInstalled(envDir)) return offerTorchSetup(new TorchEnvMissingError(envDir), ctx);
  const command =
    engineName === 'torch'
      ? torchEngineCommand(envDir)
      : nodeEngineCommand({ nodePath: settings.nodePath, enginePath: ctx.enginePath, backend: settings.backend ?? undefined, threads: settings.threads });
  const engine = new EngineClient({ command, log: (l) => ctx.output.appendLine(l) });
  const panel = new ProbePanel(ctx.extensionUri, target, engine, (l) => ctx.output.appendLine(l));
  ctx.probePanels.push(panel);
  panel.webviewPanel.onDidDispose(() => ctx.probePanels.splice(ctx.probePanels.indexOf(panel), 1));
  return { ok: true, path: policyDir };
}
