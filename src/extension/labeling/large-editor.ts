// The labeling editor for files over VS Code's 50 MB limit on documents given to extensions: a
// CustomEditorProvider whose document is a LargeLineFile (the file stays on disk, edited lines in
// memory). Each decision is a CustomDocumentEditEvent with its undo and redo, so VS Code keeps the
// undo stack and the dirty state; save writes atomically; hot exit backs up the edited lines.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { LargeLineFile } from './large-file';
import { LineStore, LinesChange, openSession } from './label-editor';

export const LARGE_LABEL_VIEW_TYPE = 'dpo.labelPairsLarge';

interface Backup {
  /** The original file as it was when backed up: a backup of edits only applies to that file. */
  size: number;
  mtimeMs: number;
  lines: [number, string][];
}

export class LargeLabelDocument implements vscode.CustomDocument {
  readonly changes = new vscode.EventEmitter<LinesChange>();

  constructor(
    readonly uri: vscode.Uri,
    readonly file: LargeLineFile,
  ) {}

  dispose(): void {
    this.changes.dispose();
    this.file.close();
  }
}

class LargeStore implements LineStore {
  readonly onDidChange: vscode.Event<LinesChange>;

  constructor(
    private readonly doc: LargeLabelDocument,
    private readonly edited: (e: vscode.CustomDocumentEditEvent<LargeLabelDocument>) => void,
  ) {
    this.onDidChange = doc.changes.event;
  }

  get uri(): vscode.Uri {
    return this.doc.uri;
  }

  get lineCount(): number {
    return this.doc.file.lineCount;
  }

  lineAt(i: number): string {
    return this.doc.file.lineAt(i);
  }

  async replaceLine(i: number, before: string, after: string): Promise<boolean> {
    if (before === after) return true;
    const set = (text: string) => {
      this.doc.file.setLine(i, text);
      this.doc.changes.fire({ lines: [i] });
    };
    set(after);
    this.edited({ document: this.doc, label: 'Label pair', undo: () => set(before), redo: () => set(after) });
    return true;
  }

  dispose(): void {
    // The document outlives its editor until VS Code disposes it.
  }
}

export class LargeLabelEditorProvider implements vscode.CustomEditorProvider<LargeLabelDocument> {
  private readonly emitter = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<LargeLabelDocument>>();
  readonly onDidChangeCustomDocument = this.emitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly diagnostics: vscode.DiagnosticCollection,
  ) {}

  async openCustomDocument(uri: vscode.Uri, context: vscode.CustomDocumentOpenContext): Promise<LargeLabelDocument> {
    const doc = new LargeLabelDocument(uri, new LargeLineFile(uri.fsPath));
    if (context.backupId) {
      const backup = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.parse(context.backupId))).toString('utf8')) as Backup;
      const stat = fs.statSync(uri.fsPath);
      if (stat.size === backup.size && stat.mtimeMs === backup.mtimeMs) for (const [i, text] of backup.lines) doc.file.setLine(i, text);
      else void vscode.window.showWarningMessage(`${uri.fsPath} changed on disk since its unsaved labels were backed up; the backup was not applied.`);
    }
    return doc;
  }

  resolveCustomEditor(document: LargeLabelDocument, panel: vscode.WebviewPanel): void {
    openSession(new LargeStore(document, (e) => this.emitter.fire(e)), panel, this.extensionUri, this.diagnostics);
  }

  async saveCustomDocument(document: LargeLabelDocument): Promise<void> {
    document.file.save();
  }

  async saveCustomDocumentAs(document: LargeLabelDocument, destination: vscode.Uri): Promise<void> {
    document.file.save(destination.fsPath);
  }

  async revertCustomDocument(document: LargeLabelDocument): Promise<void> {
    document.file.revert();
    document.changes.fire({ reset: true });
  }

  async backupCustomDocument(document: LargeLabelDocument, context: vscode.CustomDocumentBackupContext): Promise<vscode.CustomDocumentBackup> {
    const stat = fs.statSync(document.uri.fsPath);
    const backup: Backup = { size: stat.size, mtimeMs: stat.mtimeMs, lines: document.file.editedLines() };
    await vscode.workspace.fs.writeFile(context.destination, Buffer.from(JSON.stringify(backup), 'utf8'));
    return { id: context.destination.toString(), delete: () => void vscode.workspace.fs.delete(context.destination).then(undefined, () => undefined) };
  }
}
