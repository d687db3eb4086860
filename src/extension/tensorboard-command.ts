// DPO: Export Metrics to TensorBoard: `dpo export-metrics --to tensorboard` for a chosen run folder,
// written by the exporter in the PyTorch engine's environment into <run>/tensorboard. Not live logging
// during a run (report_to, src/node/metrics-export.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportToTensorBoard, tensorboardDir } from '../node/metrics-export';
import { torchEnvDir, torchPython } from '../node/torch-env';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';
import { listRunFolders } from './run-folders';
import { readSettings, runsRoot } from './settings';

export const TENSORBOARD_COMMAND = 'dpo.exportTensorBoard';

async function pickRun(ctx: CommandContext): Promise<string | undefined> {
  const active = ctx.runs.active().map((s) => s.runDir);
  const items = listRunFolders(runsRoot(readSettings())).map((r) => ({
    label: path.basename(r.dir),
    description: `${r.mode} · step ${r.lastStep}`,
    dir: r.dir,
  }));
  items.sort((a, b) => Number(active.includes(b.dir)) - Number(active.includes(a.dir)));
  const browse = { label: '$(folder-opened) Choose a run folder…', description: '', dir: '' };
  const pick = await vscode.window.showQuickPick([...items, browse], { title: 'DPO: Export Metrics to TensorBoard' });
  if (!pick || pick.dir) return pick?.dir;
  return (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Export' }))?.[0]?.fsPath;
}

export async function exportTensorBoard(ctx: CommandContext, args: { runDir?: string } = {}): Promise<CommandResult> {
  // It starts the PyTorch environment's Python, as the torch engine's commands do.
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  const runDir = args.runDir ?? (await pickRun(ctx));
  if (!runDir) return { ok: false, error: 'cancelled' };
  if (!fs.existsSync(path.join(runDir, 'metrics.jsonl'))) return fail(`${runDir}: no metrics.jsonl; choose the folder of a run`, ctx);
  const python = torchPython(torchEnvDir());
  if (!fs.existsSync(python)) return fail('the TensorBoard export runs in the PyTorch engine\'s environment: run "DPO: Set Up PyTorch Engine" first', ctx);
  const out = tensorboardDir(runDir);
  const r = await exportToTensorBoard(runDir, out, python, (l) => ctx.output.appendLine(`[tensorboard] ${l}`));
  if (r.code !== 0) return fail(`the TensorBoard export failed (exit ${r.code}): ${r.lines.slice(-3).join('\n')}`, ctx);
  if (!args.runDir)
    void vscode.window.showInformationMessage(`DPO: TensorBoard files in ${vscode.workspace.asRelativePath(out)}; see them with: tensorboard --logdir ${out}`);
  return { ok: true, path: out };
}

export function registerTensorBoardCommand(ctx: CommandContext): vscode.Disposable {
  return vscode.commands.registerCommand(TENSORBOARD_COMMAND, (args?: { runDir?: string }) => exportTensorBoard(ctx, args));
}
