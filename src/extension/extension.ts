// Extension entry point: registrations only. The engine runs in child processes (run-manager.ts);
// nothing here loads tfjs. Activation happens on the DPO commands, and stays small.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS, CommandContext, makeTinyModel, newTrainingRun, resumeRun, showRuns, startRunFromConfig, stopRun } from './commands';
import { RunManager } from './run-manager';
import { RunStatusBar } from './status-bar';
import { watchRuns } from './notifications';
import { readSettings } from './settings';

export interface DpoExtensionApi {
  runs: RunManager;
  statusBar: RunStatusBar;
  /** Milliseconds activate() took. */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): DpoExtensionApi {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('DPO Engine');
  const runs = new RunManager({
    enginePath: path.join(context.extensionPath, 'out', 'src', 'engine', 'main.js'),
    log: (line) => output.appendLine(line),
    settings: () => {
      const s = readSettings();
      return { nodePath: s.nodePath, backend: s.backend, stopTimeoutSeconds: s.stopTimeoutSeconds };
    },
  });
  const statusBar = new RunStatusBar(runs, COMMANDS.openEngineLog);
  const ctx: CommandContext = { runs, output, cliPath: path.join(context.extensionPath, 'bin', 'dpo.js') };
  const register = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown);
  context.subscriptions.push(
    output,
    runs,
    statusBar,
    watchRuns(runs, output),
    register(COMMANDS.newTrainingRun, (args?: Parameters<typeof newTrainingRun>[1]) => newTrainingRun(ctx, args)),
    register(COMMANDS.startRunFromConfig, (target?: vscode.Uri | string) => startRunFromConfig(ctx, target)),
    register(COMMANDS.stopRun, (runDir?: string) => stopRun(ctx, runDir)),
    register(COMMANDS.resumeRun, (runDir?: string) => resumeRun(ctx, runDir)),
    register(COMMANDS.showRuns, () => showRuns(ctx)),
    register(COMMANDS.makeTinyModel, (args?: Parameters<typeof makeTinyModel>[1]) => makeTinyModel(ctx, args)),
    register(COMMANDS.openEngineLog, () => output.show(true)),
  );
  return { runs, statusBar, activationMs: performance.now() - started };
}

export function deactivate(): void {}
