// Extension entry point: registrations only. The engine runs in child processes (run-manager.ts);
// nothing here loads tfjs. Activation happens on the DPO commands, and stays small.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS, CommandContext, makeTinyModel, newTrainingRun, probeModel, resumeRun, showRuns, startRunFromConfig, stopRun } from './commands';
import { ProbePanel } from './probe-panel';
import { RunManager } from './run-manager';
import { RunStatusBar } from './status-bar';
import { watchRuns } from './notifications';
import { readSettings } from './settings';

export interface DpoExtensionApi {
  runs: RunManager;
  probePanels: ProbePanel[];
  statusBar: RunStatusBar;
  /** Milliseconds activate() took. */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): DpoExtensionApi {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('DPO Engine');
  const enginePath = path.join(context.extensionPath, 'out', 'src', 'engine', 'main.js');
  const runs = new RunManager({
    enginePath,
    log: (line) => output.appendLine(line),
    settings: () => {
      const s = readSettings();
      return { nodePath: s.nodePath, backend: s.backend, stopTimeoutSeconds: s.stopTimeoutSeconds };
    },
  });
  const statusBar = new RunStatusBar(runs, COMMANDS.openEngineLog);
  const probePanels: ProbePanel[] = [];
  const ctx: CommandContext = { runs, output, cliPath: path.join(context.extensionPath, 'bin', 'dpo.js'), extensionUri: context.extensionUri, enginePath, probePanels };
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
    register(COMMANDS.probeModel, (args?: Parameters<typeof probeModel>[1]) => probeModel(ctx, args)),
    { dispose: () => probePanels.splice(0).forEach((p) => p.dispose()) },
  );
  return { runs, statusBar, probePanels, activationMs: performance.now() - started };
}

export function deactivate(): void {}
