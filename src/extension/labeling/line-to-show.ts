// Which line a labeling editor shows, asked from outside it (the metrics panel's drill-down): the
// open editor of a file shows it at once, else the next one opened on the file starts there.
import * as vscode from 'vscode';

const lineToShow = new Map<string, number>();
const openEditors = new Map<string, (i: number) => void>();

/**
 * Shows 0-based line i of `uri` in its open labeling editor (true), and in the next one opened on
 * it: a hidden editor's webview reloads when revealed and would otherwise start at its first pair.
 */
export function showLabelLine(uri: vscode.Uri, i: number): boolean {
  const show = openEditors.get(uri.toString());
  lineToShow.set(uri.toString(), i);
  show?.(i);
  return show !== undefined;
}

/** The line asked for before the editor of `uri` opened, once. */
export function takeLineToShow(uri: vscode.Uri): number | undefined {
  const i = lineToShow.get(uri.toString());
  lineToShow.delete(uri.toString());
  return i;
}

/** Registers the open editor of `uri` (its `show`) until the returned disposable is disposed. */
export function whileOpen(uri: vscode.Uri, show: (i: number) => void): vscode.Disposable {
  openEditors.set(uri.toString(), show);
  return { dispose: () => openEditors.get(uri.toString()) === show && openEditors.delete(uri.toString()) };
}
