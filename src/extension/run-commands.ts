// The run commands: start a run (from the palette's questions or a config file), stop it, resume
// it from its newest checkpoint, and list the runs folder.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TrainingMode } from '../protocol';
import { readRunConfigFile } from '../node/config-file';
import { RunSession, TorchEnvMissingError } from './run-manager';
import { listRunFolders } from './run-folders';
import { runFile } from '../node/run-folder';
import { readSettings, runsRoot } from './settings';
import { COMMANDS, CommandContext, CommandResult, fail, requireTrust } from './commands';
import { confirmAnother, offerTorchSetup, startRun } from './command-helpers';
export { newTrainingRun } from './new-run';

export async function startRunFromConfig(ctx: CommandContext, target?: vscode.Uri | string): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  let file = typeof target === 'string' ? target : (target?.fsPath ?? vscode.window.activeTextEditor?.document.uri.fsPath);
  if (!file || !/\.dpo\.json$|(^|[\\/])dpo\.config\.json$/.test(file)) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'DPO run config': ['json'] }, openLabel: 'Start Run' });
    file = picked?.[0]?.fsPath;
    if (!file) return { ok: false, error: 'cancelled' };
  }
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
  if (doc?.isDirty) await doc.save();
  let config: Record<string, unknown>;
  try {
    config = readRunConfigFile(file);
  } catch (err) {
    return fail((err as Error).message, ctx);
  }
  if (!(await confirmAnother(ctx, false))) return { ok: false, error: 'cancelled' };
  const mode = (config.mode === 'sft' || config.mode === 'kto' ? config.mode : 'dpo') as TrainingMode;
  return startRun(ctx, mode, config, path.basename(file));
}

function pickRun(runs: RunSession[], title: string): Thenable<RunSession | undefined> {
  if (runs.length <= 1) return Promise.resolve(runs[0]);
  return vscode.window
    .showQuickPick(
      runs.map((s) => ({ label: path.basename(s.runDir), description: `${s.step}/${s.totalSteps}`, session: s })),
      { title },
    )
    .then((p) => p?.session);
}

export async function stopRun(ctx: CommandContext, runDir?: string): Promise<CommandResult> {
  const active = ctx.runs.active();
  if (active.length === 0) {
    void vscode.window.showInformationMessage('DPO: no run is active.');
    return { ok: false, error: 'no active run' };
  }
  const session = runDir ? active.find((s) => s.runDir === runDir) : await pickRun(active, 'DPO: Stop Run');
  if (!session) return { ok: false, error: runDir ? `no active run in ${runDir}` : 'cancelled' };
  const end = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `DPO: stopping after the current step and writing a checkpoint (${path.basename(session.runDir)})`,
    },
    () => ctx.runs.stop(session),
  );
  return { ok: end.status === 'stopped' || end.status === 'completed', runDir: session.runDir, error: end.message };
}

export async function resumeRun(ctx: CommandContext, runDir?: string): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  if (!runDir) {
    const resumable = listRunFolders(runsRoot(readSettings())).filter((r) => r.checkpoints.length > 0 && !ctx.runs.active().some((s) => s.runDir === r.dir));
    if (resumable.length === 0) {
      void vscode.window.showInformationMessage('DPO: no run with a checkpoint to resume in the runs folder (setting dpo.runsFolder).');
      return { ok: false, error: 'nothing to resume' };
    }
    const pick = await vscode.window.showQuickPick(
      resumable.map((r) => ({
        label: path.basename(r.dir),
        description: `step ${r.lastStep}, checkpoint ${r.checkpoints[r.checkpoints.length - 1]}${r.finished ? ', finished' : ''}`,
        dir: r.dir,
      })),
      { title: 'DPO: Resume Run', placeHolder: 'continues from the newest complete checkpoint' },
    );
    runDir = pick?.dir;
    if (!runDir) return { ok: false, error: 'cancelled' };
  }
  if (!(await confirmAnother(ctx, false))) return { ok: false, error: 'cancelled' };
  try {
    const session = await ctx.runs.resume(runDir);
    void vscode.window.showInformationMessage(`DPO: resumed ${path.basename(session.runDir)}`);
    return { ok: true, runDir: session.runDir };
  } catch (err) {
    if (err instanceof TorchEnvMissingError) return offerTorchSetup(err, ctx);
    return fail((err as Error).message, ctx);
  }
}

export async function showRuns(ctx: CommandContext): Promise<CommandResult & { runs?: string[] }> {
  const runs = listRunFolders(runsRoot(readSettings()));
  const active = new Map(ctx.runs.active().map((s) => [s.runDir, s]));
  const items = runs.map((r) => {
    const live = active.get(r.dir);
    const state = live
      ? `running ${live.step}/${live.totalSteps}`
      : r.finished
        ? 'finished'
        : r.checkpoints.length
          ? `stopped at ${r.lastStep} (resumable)`
          : `ended at ${r.lastStep}`;
    return {
      label: path.basename(r.dir),
      description: `${r.mode} · ${state}${r.lastLoss !== undefined ? ` · loss ${r.lastLoss.toFixed(4)}` : ''}`,
      dir: r.dir,
      resumable: !live && r.checkpoints.length > 0,
    };
  });
  if (items.length === 0) {
    void vscode.window.showInformationMessage('DPO: no runs yet in the runs folder (setting dpo.runsFolder).');
    return { ok: true, runs: [] };
  }
  void vscode.window.showQuickPick(items, { title: 'DPO: Runs', placeHolder: 'pick a run to open its log' }).then(async (pick) => {
    if (!pick) return;
    const action = await vscode.window.showQuickPick(['Open Log', 'Open Config', ...(pick.resumable ? ['Resume'] : []), 'Reveal Folder'], {
      title: pick.label,
    });
    if (action === 'Open Log') void vscode.window.showTextDocument(vscode.Uri.file(runFile(pick.dir, 'log')));
    if (action === 'Open Config') void vscode.window.showTextDocument(vscode.Uri.file(runFile(pick.dir, 'config')));
    if (action === 'Resume') void vscode.commands.executeCommand(COMMANDS.resumeRun, pick.dir);
    if (action === 'Reveal Folder') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(pick.dir));
  });
  return { ok: true, runs: runs.map((r) => r.dir) };
}
