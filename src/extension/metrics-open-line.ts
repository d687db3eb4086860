// A drill-down pair opened from the metrics panel: its line in the labeling editor (the large-file
// one past dpo.labeling.largeFileThresholdMB, as Label Pairs chooses), in a second editor group
// that leaves the panel most of the window: beside a wide panel, below a narrow one.
import * as vscode from 'vscode';
import { LABEL_VIEW_TYPE } from './labeling/label-editor';
import { LARGE_LABEL_VIEW_TYPE } from './labeling/large-editor';
import { showLabelLine } from './labeling/line-to-show';
import { readLabelSettings } from './settings';

/** Below this panel width a split beside it would leave neither side readable: the editor goes below. */
const WIDE_PANEL_PX = 1000;
/** The panel's share of the window once the editor is open. */
const PANEL_SHARE = 0.62;

/** Opens 1-based `line` of `file` in the labeling editor without taking the panel's place or focus. */
export async function openPairInLabelEditor(file: string, line: number, panelWidth: number | undefined): Promise<void> {
  const uri = vscode.Uri.file(file);
  const size = (await vscode.workspace.fs.stat(uri)).size;
  const viewType = size > readLabelSettings().largeFileThresholdMB * 1024 * 1024 ? LARGE_LABEL_VIEW_TYPE : LABEL_VIEW_TYPE;
  // The panel alone in the window: split it unevenly (ViewColumn.Beside alone halves it). With
  // groups already there, the user's layout stays as it is.
  const alone = vscode.window.tabGroups.all.length === 1;
  if (alone) {
    const wide = (panelWidth ?? WIDE_PANEL_PX) >= WIDE_PANEL_PX;
    await vscode.commands.executeCommand('vscode.setEditorLayout', {
      orientation: wide ? 0 : 1,
      groups: [{ size: PANEL_SHARE }, { size: 1 - PANEL_SHARE }],
    });
  }
  showLabelLine(uri, line - 1);
  // The group just made is the second (below or right); Beside would add a third to the right of a stacked layout.
  const viewColumn = alone ? vscode.ViewColumn.Two : vscode.ViewColumn.Beside;
  await vscode.commands.executeCommand('vscode.openWith', uri, viewType, { viewColumn, preserveFocus: true });
}
