// "DPO: Convert Paired ↔ Unpaired": the open (or right-clicked) preference JSONL converted beside
// itself, pairs to {prompt, completion, label} lines for KTO or back (src/node/convert-unpaired.ts),
// then opened in the labeling editor. Problem lines are listed in the output channel, never dropped silently.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConvertDirection, convertFile } from '../node/convert-unpaired';
import { CommandResult } from './commands';
import { LABEL_VIEW_TYPE } from './labeling/label-editor';

export const CONVERT_COMMAND = 'dpo.convertPreferences';

export async function convertPreferences(log: (line: string) => void, target?: vscode.Uri | string, direction?: ConvertDirection): Promise<CommandResult> {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom ? tab.uri : undefined;
  const uri = typeof target === 'string' ? vscode.Uri.file(target) : (target ?? tabUri);
  if (!uri || !/\.jsonl$/i.test(uri.path)) return { ok: false, error: 'open or right-click a preference .jsonl file to convert' };
  // Unsaved labels are in the document, not on disk: save first so they are converted too.
  await vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString() && d.isDirty)?.save();
  let r;
  try {
    r = convertFile(uri.fsPath, direction);
  } catch (err) {
    void vscode.window.showErrorMessage(`DPO: ${(err as Error).message}`);
    return { ok: false, error: (err as Error).message };
  }
  const what = r.direction === 'to-unpaired' ? 'unpaired lines (KTO)' : 'pairs';
  for (const p of r.problems) log(`convert ${uri.fsPath}:${p.line}: ${p.message}`);
  const notes = [
    r.problems.length ? `${r.problems.length} line(s) not converted (lines ${r.problems.map((p) => p.line).join(', ')}; see the output)` : '',
    r.unmatched ? `${r.unmatched} completion(s) without a partner of the other label` : '',
  ].filter(Boolean);
  void vscode.window.showInformationMessage(`DPO: wrote ${r.lines.length} ${what} to ${path.basename(r.out)}${notes.length ? `; ${notes.join('; ')}` : ''}.`);
  await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(r.out), LABEL_VIEW_TYPE);
  return { ok: true, path: r.out };
}
