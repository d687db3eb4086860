// What every command handler shares: the command ids, the result each returns (so commands can be
// scripted and tested through executeCommand), workspace trust, error reporting, and starting a run
// (with the offer to set up the PyTorch engine when a torch run finds no environment).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TrainingMode } from '../protocol';
import { RunError, RunManager, RunSession, TorchEnvMissingError } from './run-manager';
import { newRunDir, readSettings, runsRoot } from './settings';
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
} as const;

export interface CommandResult {
  ok: boolean;
  error?: string;
  runDir?: string;
  path?: string;
  /** A command offered to the user instead of failing (the PyTorch engine's set-up). */
  offered?: string;
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
  void vscode.window.showErrorMessage(`DPO: ${error.split('\n')[0]}`, ...(error.includes('\n') ? ['Show Details'] : [])).then((a) => {
    if (a) {
      ctx.output.appendLine(error);
      ctx.output.show(true);
    }
  });
  return { ok: false, error };
}

export async function confirmAnother(ctx: CommandContext, startAnother: boolean | undefined): Promise<boolean> {
  const active = ctx.runs.active();
  if (active.length === 0 || startAnother) return true;
  const pick = await vscode.window.showWarningMessage(
    `A DPO run is active (${path.basename(active[0].runDir)}). Start another one alongside it? Both share this machine's CPU or GPU.`,
    { modal: true },
    'Start Another',
  );
  return pick === 'Start Another';
}

export async function startRun(ctx: CommandContext, mode: TrainingMode, config: Record<string, unknown>, source: string): Promise<CommandResult> {
  const root = runsRoot(readSettings());
  if (!config.output_dir) {
    if (!root) return fail('open a folder first: runs are written to its .dpo/runs folder (setting dpo.runsFolder)', ctx);
    config = { ...config, output_dir: newRunDir(root, mode) };
  }
  let session: RunSession;
  try {
    session = await ctx.runs.start(mode, config, source);
  } catch (err) {
    if (err instanceof TorchEnvMissingError) return offerTorchSetup(err, ctx);
    return fail(err instanceof RunError ? err.message : String(err), ctx);
  }
  void vscode.window.showInformationMessage(`DPO: ${mode.toUpperCase()} run started in ${session.runDir}`, 'Open Metrics', 'Stop').then((a) => {
    if (a === 'Stop') void vscode.commands.executeCommand(COMMANDS.stopRun, session.runDir);
    if (a === 'Open Metrics') void vscode.commands.executeCommand(COMMANDS.openMetrics, { runDirs: [session.runDir] });
  });
  return { ok: true, runDir: session.runDir };
}

export const SET_UP_TORCH = 'Set Up PyTorch Engine';

/** A torch run without an environment: offer the set-up (which the user may then rerun the run after). */
export function offerTorchSetup(err: TorchEnvMissingError, ctx: CommandContext): CommandResult {
  ctx.output.appendLine(`error: ${err.message}`);
  void vscode.window.showWarningMessage(`DPO: this run uses the PyTorch engine, which is not set up yet (${err.envDir}). Set it up now? It installs the pinned PyTorch, Transformers and TRL into that folder.`, SET_UP_TORCH).then((a) => {
    if (a === SET_UP_TORCH) void vscode.commands.executeCommand(COMMANDS.setupTorch);
  });
  return { ok: false, error: err.message, offered: COMMANDS.setupTorch };
}
