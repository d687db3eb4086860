// "DPO: Convert Paired ↔ Unpaired": the open (or right-clicked) preference JSONL converted beside
// itself by `dpo convert --to unpaired|paired` (one conversion for the palette and the CLI, in TRL's
// order), then opened in the labeling editor. What the CLI reports goes to the output channel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConvertDirection, convertedPath, directionOfFile } from '../node/convert-unpaired';
import { CommandResult } from './commands';
import { LABEL_VIEW_TYPE } from './labeling/label-editor';
import { cliFailure, runCli } from './run-cli';

export const CONVERT_COMMAND = 'dpo.convertPreferences';

export async function convertPreferences(
  cliPath: string,
  log: (line: string) => void,
  target?: vscode.Uri | string,
  direction?: ConvertDirection,
): Promise<CommandResult> {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom ? tab.uri : undefined;
  const uri = typeof target === 'string' ? vscode.Uri.file(target) : (target ?? tabUri);
  if (!uri || !/\.jsonl$/i.test(uri.path)) return { ok: false, error: 'open or right-click a preference .jsonl file to convert' };
  // Unsaved labels are in the document, not on disk: save first so they are converted too.
  await vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString() && d.isDirty)?.save();
  let dir: ConvertDirection;
  try {
    dir = direction ?? directionOfFile(uri.fsPath);
  } catch (err) {
    return fail(`${uri.fsPath}: ${(err as Error).message}`);
  }
  const out = convertedPath(uri.fsPath, dir);
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `DPO: converting ${path.basename(uri.fsPath)}` }, () =>
    runCli(cliPath, ['convert', uri.fsPath, out, '--to', dir === 'to-unpaired' ? 'unpaired' : 'paired', '--skip-bad-lines']),
  );
  for (const line of (r.stdout + r.stderr).split('\n').filter((l) => l.trim())) log(`convert: ${line}`);
  if (r.code !== 0) return fail(cliFailure(r));
  // The CLI's summary lines (what it wrote, lines skipped or left without a partner); the indented
  // lines under them name each problem line and are in the output channel.
  const said = r.stderr.split('\n').filter((l) => l.trim() && !/^\s/.test(l));
  const more = said.length > 1 ? ' (see the DPO output for the lines)' : '';
  void vscode.window.showInformationMessage(`DPO: ${said.join('; ').replace(out, path.basename(out))}${more}`);
  await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(out), LABEL_VIEW_TYPE);
  return { ok: true, path: out };
}

function fail(message: string): CommandResult {
  void vscode.window.showErrorMessage(`DPO: ${message}`);
  return { ok: false, error: message };
}
