// Starting a run, shared by the run commands and New Training Run: confirm a second concurrent run,
// start it (a new run folder under dpo.runsFolder), and offer the PyTorch engine's set-up when a torch
// run finds no environment.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TrainingMode } from '../protocol';
import { RunError, RunSession, TorchEnvMissingError } from './run-manager';
import { newRunDir, readSettings, runsRoot } from './settings';
import { COMMANDS, CommandContext, CommandResult, fail } from './commands';

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
  // The run's name, not its full path (the Open Metrics button and the Runs view lead to the folder).
  const name = path.basename(session.runDir);
  void vscode.window.showInformationMessage(`${mode === 'sft' ? 'SFT' : 'DPO'} run ${name} started`, 'Open Metrics', 'Stop').then((a) => {
    if (a === 'Stop') void vscode.commands.executeCommand(COMMANDS.stopRun, session.runDir);
    if (a === 'Open Metrics') void vscode.commands.executeCommand(COMMANDS.openMetrics, { runDirs: [session.runDir] });
  });
  return { ok: true, runDir: session.runDir };
}

export const SET_UP_TORCH = 'Set Up PyTorch Engine';

/** A torch run without an environment: offer the set-up (which the user may then rerun the run after). */
export function offerTorchSetup(err: TorchEnvMissingError, ctx: CommandContext): CommandResult {
  ctx.output.appendLine(`error: ${err.message}`);
  void vscode.window
    .showWarningMessage(
      `DPO: this run uses the PyTorch engine, which is not set up yet (${err.envDir}). Set it up now? It installs the pinned PyTorch, Transformers and TRL into that folder.`,
      SET_UP_TORCH,
    )
    .then((a) => {
      if (a === SET_UP_TORCH) void vscode.commands.executeCommand(COMMANDS.setupTorch);
    });
  return { ok: false, error: err.message, offered: COMMANDS.setupTorch };
}
