// The labeling editor for files over VS Code's 50 MB limit on documents given to extensions: a
// CustomEditorProvider whose document is a LargeLineFile (the file stays on disk, edited lines in
// memory). Each decision is a CustomDocumentEditEvent with its undo and redo, so VS Code keeps the
// undo stack and the dirty state; save writes atomically; hot exit backs up the edited lines, and a
// BackupRecords note finds the backup again when VS Code reopens the file without its backupId.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LargeLineFile } from './large-file';
import { LineStore, LinesChange, openSession } from './label-editor';
import { BackupRecords } from './backup-records';

export const LARGE_LABEL_VIEW_TYPE = 'dpo.labelPairsLarge';

interface Backup {
  /** The original file as it was when backed up: a backup of edits only applies to that file. */
  size: number;
  mtimeMs: number;
  /** When it was written (ms since 1970), to pick the newer of VS Code's backup and the recorded one. */
  savedAt?: number;
  lines: [number, string][];
}

async function readBackup(id: string): Promise<Backup | undefined> {
  try {
    const b = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.parse(id))).toString('utf8')) as Backup;
    return Array.isArray(b.lines) ? b : undefined;
  } catch {
    return undefined; // deleted once a newer backup existed, or never completely written
  }
}

export class LargeLabelDocument implements vscode.CustomDocument {
  readonly changes = new vscode.EventEmitter<LinesChange>();
  /** Lines restored from a recorded backup VS Code did not hand over: made one edit once the editor opens, so the document is dirty. */
  restored?: { line: number; before: string; after: string }[];
  /** The backup this document was restored from, deleted once a newer one is written. */
  restoredFrom?: string;

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

export class LargeLabelEditorProvider implements vscode.CustomEditorProvider<LargeLabelDocument>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<LargeLabelDocument>>();
  readonly onDidChangeCustomDocument = this.emitter.event;
  private readonly records: BackupRecords;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly diagnostics: vscode.DiagnosticCollection,
    /** The extension's storage folder (where VS Code also puts custom-editor backups). */
    storage: vscode.Uri,
  ) {
    this.records = new BackupRecords(path.join(storage.fsPath, 'label-backups'));
  }

  async openCustomDocument(uri: vscode.Uri, context: vscode.CustomDocumentOpenContext): Promise<LargeLabelDocument> {
    const doc = new LargeLabelDocument(uri, new LargeLineFile(uri.fsPath));
    // Undone back to the file on disk, or reverted: there is nothing left to restore after a kill.
    doc.changes.event(() => {
      if (!doc.file.dirty) this.dropBackups(doc);
    });
    // VS Code's backupId, or the recorded backup when VS Code reopened the file without it; the newer
    // of the two when both are readable (a kill between writing a backup and VS Code saving its layout).
    const ids = [context.backupId, this.records.find(uri.fsPath)?.backup].filter((id): id is string => id !== undefined);
    const found = (await Promise.all(ids.map(async (id) => ({ id, backup: await readBackup(id) })))).filter((b) => b.backup !== undefined);
    const newest = found.sort((a, b) => (b.backup!.savedAt ?? 0) - (a.backup!.savedAt ?? 0))[0];
    if (!newest) return doc;
    const backup = newest.backup!;
    const stat = fs.statSync(uri.fsPath);
    if (stat.size !== backup.size || stat.mtimeMs !== backup.mtimeMs) {
      this.records.forget(uri.fsPath);
      void vscode.window.showWarningMessage(`${uri.fsPath} changed on disk since its unsaved labels were backed up; the backup was not applied.`);
      return doc;
    }
    const restored = backup.lines.map(([line, after]) => ({ line, before: doc.file.lineAt(line), after }));
    for (const r of restored) doc.file.setLine(r.line, r.after);
    doc.restoredFrom = newest.id;
    this.records.adopt(uri.fsPath);
    // Restored from VS Code's own backupId, VS Code marks the document dirty; from the record, an edit does.
    if (context.backupId === undefined) doc.restored = restored;
    return doc;
  }

  resolveCustomEditor(document: LargeLabelDocument, panel: vscode.WebviewPanel): void {
    openSession(new LargeStore(document, (e) => this.emitter.fire(e)), panel, this.extensionUri, this.diagnostics);
    const restored = document.restored;
    if (!restored) return;
    document.restored = undefined;
    const set = (side: 'before' | 'after') => {
      for (const r of restored) document.file.setLine(r.line, r[side]);
      document.changes.fire({ lines: restored.map((r) => r.line) });
    };
    // Now, not in openCustomDocument: VS Code takes edits of a document only once it has its model.
    this.emitter.fire({ document, label: 'Restore unsaved labels', undo: () => set('before'), redo: () => set('after') });
    const name = path.basename(document.uri.fsPath);
    void vscode.window.showInformationMessage(
      `Restored ${restored.length} unsaved line(s) of ${name} from the backup made before VS Code stopped; Undo or File: Revert File discards them.`,
    );
  }

  async saveCustomDocument(document: LargeLabelDocument): Promise<void> {
    document.file.save();
    this.dropBackups(document);
  }

  /** The document holds no unsaved lines: its recorded backup, and the one it was restored from, go. */
  private dropBackups(document: LargeLabelDocument): void {
    this.records.forget(document.uri.fsPath);
    if (document.restoredFrom) void vscode.workspace.fs.delete(vscode.Uri.parse(document.restoredFrom)).then(undefined, () => undefined);
    document.restoredFrom = undefined;
  }

  async saveCustomDocumentAs(document: LargeLabelDocument, destination: vscode.Uri): Promise<void> {
    document.file.save(destination.fsPath);
  }

  async revertCustomDocument(document: LargeLabelDocument): Promise<void> {
    document.file.revert();
    document.changes.fire({ reset: true });
  }

  async backupCustomDocument(document: LargeLabelDocument, context: vscode.CustomDocumentBackupContext): Promise<vscode.CustomDocumentBackup> {
    const file = document.uri.fsPath;
    const stat = fs.statSync(file);
    const backup: Backup = { size: stat.size, mtimeMs: stat.mtimeMs, savedAt: Date.now(), lines: document.file.editedLines() };
    await vscode.workspace.fs.writeFile(context.destination, Buffer.from(JSON.stringify(backup), 'utf8'));
    const id = context.destination.toString();
    // Not when undone to the file on disk while the backup was written (that dropped the record).
    if (document.file.dirty) this.records.record(file, id);
    // The backup restored from belongs to the session that was killed: nothing deletes it but us.
    const old = document.restoredFrom;
    document.restoredFrom = undefined;
    if (old && old !== id) void vscode.workspace.fs.delete(vscode.Uri.parse(old)).then(undefined, () => undefined);
    return {
      id,
      delete: () => {
        this.records.forget(file, id);
        void vscode.workspace.fs.delete(context.destination).then(undefined, () => undefined);
      },
    };
  }

  /** The extension host ends cleanly: VS Code restores what it kept itself. */
  dispose(): void {
    this.records.endSession();
    this.emitter.dispose();
  }
}
