// The line store of the labeling editor for files that VS Code opens as a TextDocument (those under
// dpo.labeling.largeFileThresholdMB): every edit is a WorkspaceEdit of one line.
import * as vscode from 'vscode';
import type { LineStore, LinesChange } from './label-editor';

/** A TextDocument: edits are WorkspaceEdits, so VS Code owns undo, dirty state, save and hot exit. */
export class TextDocumentStore implements LineStore {
  private readonly emitter = new vscode.EventEmitter<LinesChange>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly document: vscode.TextDocument) {
    this.subscription = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document !== document || e.contentChanges.length === 0) return;
      if (e.contentChanges.length > 1) return this.emitter.fire({ reset: true });
      const c = e.contentChanges[0];
      const added = c.text.split('\n').length;
      const lines = Array.from({ length: added }, (_, k) => c.range.start.line + k);
      this.emitter.fire({ splice: { start: c.range.start.line, removed: c.range.end.line - c.range.start.line + 1, added }, lines });
    });
  }

  get uri(): vscode.Uri {
    return this.document.uri;
  }

  get lineCount(): number {
    return this.document.lineCount;
  }

  lineAt(i: number): string {
    return this.document.lineAt(i).text;
  }

  replaceLine(i: number, before: string, after: string): Promise<boolean> {
    if (before === after) return Promise.resolve(true);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(this.document.uri, this.document.lineAt(i).range, after);
    return Promise.resolve(vscode.workspace.applyEdit(edit));
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
