// What every command handler shares: the command ids, the result each returns (so commands can be
// scripted and tested through vscode.commands.executeCommand with arguments that skip the
// pickers), the context they run in, and the two ways they refuse (Restricted Mode, an error).
// The handlers are in run-commands.ts (with command-helpers.ts and new-run.ts), model-commands.ts,
// view-commands.ts, setup-torch-command.ts and export-launch-command.ts.
import * as vscode from 'vscode';
import { toastLine } from '../node/failure-text';
import { RunManager } from './run-manager';
import { ProbePanel } from './probe-panel';

export const COMMANDS = {
  newTrainingRun: 'dpo.newTrainingRun',
  startRunFromConfig: 'dpo.startRunFromConfig',
  stopRun: 'dpo.stopRun',
  resumeRun: 'dpo.resumeRun',
  showRuns: 'dpo.showRuns',
  makeTinyModel: 'dpo.makeTinyModel',
  openEngineLog: 'dpo.openEngineLog',
  probeModel: 'dpo.probeModel',
  openMetrics: 'dpo.openMetrics',
  exportMetrics: 'dpo.exportMetrics',
  labelPairs: 'dpo.labelPairs',
  setupTorch: 'dpo.setupTorch',
  exportLaunchScript: 'dpo.exportLaunchScript',
  serveModel: 'dpo.serveModel',
} as const;

export interface CommandResult {
  ok: boolean;
  error?: string;
  runDir?: string;
  path?: string;
  /** A command offered to the user instead of failing (the PyTorch engine's set-up). */
  offered?: string;
  /** The error notification's text, as shown. */
  notice?: string;
}

export interface CommandContext {
  runs: RunManager;
  output: vscode.OutputChannel;
  cliPath: string;
  extensionUri: vscode.Uri;
  enginePath: string;
  probePanels: ProbePanel[];
}

const UNTRUSTED =
  'DPO: training and loading models are disabled in Restricted Mode: they read model files and run code from this workspace. Trust the workspace to use them.';

/** Commands that load models or train refuse in untrusted workspaces, and say why. */
export async function requireTrust(): Promise<CommandResult | undefined> {
  if (vscode.workspace.isTrusted) return undefined;
  void vscode.window.showWarningMessage(UNTRUSTED, 'Manage Workspace Trust').then((a) => a && vscode.commands.executeCommand('workbench.trust.manage'));
  return { ok: false, error: UNTRUSTED };
}

export function fail(error: string, ctx: CommandContext): CommandResult {
  ctx.output.appendLine(`error: ${error}`);
  const notice = `DPO: ${toastLine(error)}`;
  void vscode.window.showErrorMessage(notice, ...(error.includes('\n') ? ['Show Details'] : [])).then((a) => {
    if (a) {
      ctx.output.appendLine(error);
      ctx.output.show(true);
    }
  });
  return { ok: false, error, notice };
}
