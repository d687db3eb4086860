// The command handlers. Each returns a CommandResult as well as telling the user, so the commands
// can be scripted (and tested) through vscode.commands.executeCommand with arguments that skip
// the pickers.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LABEL_VIEW_TYPE, noteOpenRequested } from './labeling/label-editor';
import { LARGE_LABEL_VIEW_TYPE } from './labeling/large-editor';
import { TrainingMode, readRunConfigFile } from '../protocol';
import { RunSession, TorchEnvMissingError } from './run-manager';
import { listRunFolders, metricsCsv, readMetrics } from './run-folders';
import { readRunConfig, runFile } from '../node/run-folder';
import { MetricsPanel } from './metrics-panel';
import { readLabelSettings, readSettings, runsRoot } from './settings';
import { ProbePanel, ProbeTarget } from './probe-panel';
import { COMMANDS, CommandContext, CommandResult, confirmAnother, fail, offerTorchSetup, requireTrust, startRun } from './command-helpers';

export { COMMANDS } from './command-helpers';
export type { CommandContext, CommandResult } from './command-helpers';
export { newTrainingRun } from './new-run';
import { EngineClient } from './engine-client';
import { nodeEngineCommand } from '../node/engine-command';

export async function startRunFromConfig(ctx: CommandContext, target?: vscode.Uri | string): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  let file = typeof target === 'string' ? target : target?.fsPath ?? vscode.window.activeTextEditor?.document.uri.fsPath;
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
  const mode = (config.mode === 'sft' ? 'sft' : 'dpo') as TrainingMode;
  return startRun(ctx, mode, config, path.basename(file));
}

function pickRun(runs: RunSession[], title: string): Thenable<RunSession | undefined> {
  if (runs.length <= 1) return Promise.resolve(runs[0]);
  return vscode.window
    .showQuickPick(runs.map((s) => ({ label: path.basename(s.runDir), description: `${s.step}/${s.totalSteps}`, session: s })), { title })
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
    { location: vscode.ProgressLocation.Notification, title: `DPO: stopping after the current step and writing a checkpoint (${path.basename(session.runDir)})` },
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
      resumable.map((r) => ({ label: path.basename(r.dir), description: `step ${r.lastStep}, checkpoint ${r.checkpoints[r.checkpoints.length - 1]}${r.finished ? ', finished' : ''}`, dir: r.dir })),
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
    const state = live ? `running ${live.step}/${live.totalSteps}` : r.finished ? 'finished' : r.checkpoints.length ? `stopped at ${r.lastStep} (resumable)` : `ended at ${r.lastStep}`;
    return { label: path.basename(r.dir), description: `${r.mode} · ${state}${r.lastLoss !== undefined ? ` · loss ${r.lastLoss.toFixed(4)}` : ''}`, dir: r.dir, resumable: !live && r.checkpoints.length > 0 };
  });
  if (items.length === 0) {
    void vscode.window.showInformationMessage('DPO: no runs yet in the runs folder (setting dpo.runsFolder).');
    return { ok: true, runs: [] };
  }
  void vscode.window.showQuickPick(items, { title: 'DPO: Runs', placeHolder: 'pick a run to open its log' }).then(async (pick) => {
    if (!pick) return;
    const action = await vscode.window.showQuickPick(['Open Log', 'Open Config', ...(pick.resumable ? ['Resume'] : []), 'Reveal Folder'], { title: pick.label });
    if (action === 'Open Log') void vscode.window.showTextDocument(vscode.Uri.file(runFile(pick.dir, 'log')));
    if (action === 'Open Config') void vscode.window.showTextDocument(vscode.Uri.file(runFile(pick.dir, 'config')));
    if (action === 'Resume') void vscode.commands.executeCommand(COMMANDS.resumeRun, pick.dir);
    if (action === 'Reveal Folder') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(pick.dir));
  });
  return { ok: true, runs: runs.map((r) => r.dir) };
}

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
  const settings = readSettings();
  // The CLI runs in its own Node process: the extension host never loads the engine.
  const code = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `DPO: making a tiny ${family} model` }, () =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(settings.nodePath || process.execPath, [ctx.cliPath, 'make-tiny-model', '--out', out!, '--family', family], {
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('error', (err) => resolve({ code: -1, stderr: err.message }));
      child.on('exit', (c) => resolve({ code: c, stderr }));
    }),
  );
  ctx.output.appendLine(code.stderr.trim());
  if (code.code !== 0) return fail(`make-tiny-model failed: ${code.stderr.trim()}`, ctx);
  if (!args.out) void vscode.window.showInformationMessage(`DPO: tiny model written to ${out}`);
  return { ok: true, path: out };
}

/** The reference and β of a run folder's model (final/ or checkpoints/step-N/), from its config.json. */
function runOfModel(modelDir: string): { referenceDir: string; beta: number; dataFile: string } | undefined {
  for (const dir of [path.dirname(modelDir), path.dirname(path.dirname(modelDir))]) {
    if (!fs.existsSync(runFile(dir, 'metrics'))) continue;
    const read = readRunConfig(dir);
    if (!read.ok) return undefined;
    const c = read.config;
    return { referenceDir: c.reference_model ?? c.model, beta: c.beta, dataFile: c.data };
  }
  return undefined;
}

export async function probeModel(ctx: CommandContext, args: Partial<ProbeTarget> = {}): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  const settings = readSettings();
  let policyDir = args.policyDir;
  if (!policyDir) {
    const items = listRunFolders(runsRoot(settings)).flatMap((r) => [
      ...(r.finished ? [{ label: `$(package) ${path.basename(r.dir)}`, description: 'final model', dir: runFile(r.dir, 'final') }] : []),
      ...r.checkpoints.slice().reverse().map((step) => ({ label: `$(history) ${path.basename(r.dir)}`, description: `checkpoint step ${step}`, dir: path.join(runFile(r.dir, 'checkpoints'), `step-${step}`) })),
    ]);
    const pick = await vscode.window.showQuickPick([...items, { label: '$(folder-opened) Choose a model folder…', description: '', dir: '' }], {
      title: 'DPO: Probe Model', placeHolder: 'the tuned model to compare with its reference',
    });
    if (!pick) return { ok: false, error: 'cancelled' };
    policyDir = pick.dir || (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Probe This Model' }))?.[0]?.fsPath;
    if (!policyDir) return { ok: false, error: 'cancelled' };
  }
  const run = runOfModel(policyDir);
  let referenceDir = args.referenceDir ?? run?.referenceDir;
  if (!referenceDir) {
    referenceDir = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Reference', title: 'The reference model' }))?.[0]?.fsPath;
    if (!referenceDir) return { ok: false, error: 'cancelled' };
  }
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const promoteSetting = vscode.workspace.getConfiguration('dpo').get<string>('probe.promoteFile', '.dpo/probe-pairs.jsonl');
  const promoteFile = args.promoteFile ?? (path.isAbsolute(promoteSetting) || !ws ? promoteSetting : path.join(ws, promoteSetting));
  const target: ProbeTarget = { policyDir, referenceDir, beta: args.beta ?? run?.beta ?? settings.beta, promoteFile, dataFile: args.dataFile ?? run?.dataFile };
  const command = nodeEngineCommand({ nodePath: settings.nodePath, enginePath: ctx.enginePath, backend: settings.backend ?? undefined });
  const engine = new EngineClient({ command, log: (l) => ctx.output.appendLine(l) });
  const panel = new ProbePanel(ctx.extensionUri, target, engine, (l) => ctx.output.appendLine(l));
  ctx.probePanels.push(panel);
  panel.webviewPanel.onDidDispose(() => ctx.probePanels.splice(ctx.probePanels.indexOf(panel), 1));
  return { ok: true, path: policyDir };
}

/** Runs to show: the given ones, or a multi-select of the runs folder (active runs preselected). */
async function pickRunDirs(ctx: CommandContext, title: string): Promise<string[] | undefined> {
  const active = new Set(ctx.runs.active().map((s) => s.runDir));
  const found = listRunFolders(runsRoot(readSettings()));
  const items = found.map((r) => ({
    label: path.basename(r.dir), description: `${r.mode} · step ${r.lastStep}${r.finished ? ' · finished' : ''}`, dir: r.dir, picked: active.has(r.dir),
  }));
  const browse = { label: '$(folder-opened) Choose a run folder…', description: '', dir: '', picked: false };
  const picks = await vscode.window.showQuickPick([...items, browse], { title, canPickMany: true, placeHolder: 'runs to overlay' });
  if (!picks || picks.length === 0) return undefined;
  const dirs = picks.filter((p) => p.dir).map((p) => p.dir);
  if (picks.includes(browse)) {
    const more = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: true, openLabel: 'Show Run' });
    dirs.push(...(more ?? []).map((u) => u.fsPath));
  }
  return dirs;
}

export async function openMetrics(ctx: CommandContext, args: { runDirs?: string[] } = {}): Promise<CommandResult & { panel?: MetricsPanel }> {
  let dirs = args.runDirs;
  if (!dirs) {
    const active = ctx.runs.active();
    dirs = active.length === 1 && !MetricsPanel.current ? [active[0].runDir] : await pickRunDirs(ctx, 'DPO: Open Metrics');
  }
  if (!dirs) return { ok: false, error: 'cancelled' };
  const panel = MetricsPanel.show(ctx.extensionUri, ctx.runs, dirs, (l) => ctx.output.appendLine(l));
  return { ok: true, panel };
}

export async function exportMetrics(ctx: CommandContext, args: { runDirs?: string[]; file?: string } = {}): Promise<CommandResult> {
  const dirs = args.runDirs ?? (await pickRunDirs(ctx, 'DPO: Export Metrics (CSV)'));
  if (!dirs || dirs.length === 0) return { ok: false, error: 'cancelled' };
  let file = args.file;
  if (!file) {
    const ws = vscode.workspace.workspaceFolders?.[0];
    file = (await vscode.window.showSaveDialog({ defaultUri: ws ? vscode.Uri.joinPath(ws.uri, 'metrics.csv') : undefined, filters: { CSV: ['csv'] } }))?.fsPath;
    if (!file) return { ok: false, error: 'cancelled' };
  }
  fs.writeFileSync(file, metricsCsv(dirs.map((d) => ({ name: path.basename(d), records: readMetrics(d) }))));
  if (!args.file) void vscode.window.showInformationMessage(`DPO: metrics of ${dirs.length} run(s) written to ${file}`);
  return { ok: true, path: file };
}

/** DPO: Label Pairs: the given JSONL file, the active one, or one picked, in the labeling editor. */
export async function labelPairs(target?: vscode.Uri | string): Promise<CommandResult> {
  // The active tab, not activeTextEditor: a file over 50 MB never becomes a TextEditor for extensions,
  // and a large one becomes one only after it has been sent to the extension host.
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom ? tab.uri : undefined;
  let uri = typeof target === 'string' ? vscode.Uri.file(target) : target ?? tabUri ?? vscode.window.activeTextEditor?.document.uri;
  if (!uri || !/\.jsonl$/i.test(uri.path)) {
    const picked = await vscode.window.showOpenDialog({ title: 'Preference file to label', canSelectMany: false, filters: { 'Preference JSONL': ['jsonl'] } });
    if (!picked?.[0]) return { ok: false, error: 'no file chosen' };
    uri = picked[0];
  }
  // VS Code gives extensions no TextDocument over 50 MB and takes seconds to load one of 10 MB:
  // files over the threshold open in the editor that reads lines from disk.
  const thresholdMB = readLabelSettings().largeFileThresholdMB;
  let size = 0;
  try {
    size = (await vscode.workspace.fs.stat(uri)).size;
  } catch (err) {
    return { ok: false, error: `${uri.fsPath}: ${(err as Error).message}` };
  }
  noteOpenRequested();
  await vscode.commands.executeCommand('vscode.openWith', uri, size > thresholdMB * 1024 * 1024 ? LARGE_LABEL_VIEW_TYPE : LABEL_VIEW_TYPE);
  return { ok: true };
}
