// The commands that open views: the metrics panel (one or several runs), the CSV export, and the
// labeling editor (by file size).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LABEL_VIEW_TYPE, noteOpenRequested } from './labeling/label-editor';
import { LARGE_LABEL_VIEW_TYPE } from './labeling/large-editor';
import { listRunFolders, metricsCsv, readMetrics } from './run-folders';
import { MetricsPanel } from './metrics-panel';
import { readLabelSettings, readSettings, runsRoot } from './settings';
import { CommandContext, CommandResult } from './commands';

async function pickRunDirs(ctx: CommandContext, title: string): Promise<string[] | undefined> {
  const active = new Set(ctx.runs.active().map((s) => s.runDir));
  const found = listRunFolders(runsRoot(readSettings()));
  const items = found.map((r) => ({
    label: path.basename(r.dir),
    description: `${r.mode} · step ${r.lastStep}${r.finished ? ' · finished' : ''}`,
    dir: r.dir,
    picked: active.has(r.dir),
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
    // The one active run, unless the panel shows other runs (then ask which to overlay). The panel
    // opens by itself on a run that starts: the status bar's click then only brings it forward.
    const shown = MetricsPanel.current?.runDirs;
    dirs = active.length === 1 && (!shown || shown.includes(active[0].runDir)) ? [active[0].runDir] : await pickRunDirs(ctx, 'DPO: Open Metrics');
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
  if (!args.file) void vscode.window.showInformationMessage(`DPO: metrics of ${dirs.length} run(s) written to ${vscode.workspace.asRelativePath(file)}`);
  return { ok: true, path: file };
}

/** DPO: Label Pairs: the given JSONL file, the active one, or one picked, in the labeling editor. */
export async function labelPairs(target?: vscode.Uri | string): Promise<CommandResult> {
  // The active tab, not activeTextEditor: a file over 50 MB never becomes a TextEditor for extensions,
  // and a large one becomes one only after it has been sent to the extension host.
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom ? tab.uri : undefined;
  let uri = typeof target === 'string' ? vscode.Uri.file(target) : (target ?? tabUri ?? vscode.window.activeTextEditor?.document.uri);
  if (!uri || !/\.jsonl$/i.test(uri.path)) {
    const picked = await vscode.window.showOpenDialog({ title: 'Preference file to label', canSelectMany: false, filters: { 'Preference JSONL': ['jsonl'] } });
    if (!picked?.[0]) return { ok: false, error: 'no file chosen' };
    uri = picked[0];
  }
  // VS Code gives extensions no TextDocument over 50 MB and takes seconds to load one of 10 MB:
  // files over the threshold open in the editor that reads lines from disk.
  const thresholdMB = readLabelSettings().largeFileThresholdMB;
  let size: number;
  try {
    size = (await vscode.workspace.fs.stat(uri)).size;
  } catch (err) {
    return { ok: false, error: `${uri.fsPath}: ${(err as Error).message}` };
  }
  noteOpenRequested();
  await vscode.commands.executeCommand('vscode.openWith', uri, size > thresholdMB * 1024 * 1024 ? LARGE_LABEL_VIEW_TYPE : LABEL_VIEW_TYPE);
  // The labeling editor takes the place of the text tab it was opened from (as Reopen Editor With does):
  // VS Code titles a custom editor's tab with the file name only, so two tabs would both read "name.jsonl".
  // The Tab objects of before the open are stale: find the text tab again.
  if (tab instanceof vscode.TabInputText && tab.uri.toString() === uri.toString()) {
    const key = uri.toString();
    const text = vscode.window.tabGroups.activeTabGroup.tabs.find(
      (t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === key && !t.isDirty,
    );
    if (text) await vscode.window.tabGroups.close(text);
  }
  return { ok: true };
}
