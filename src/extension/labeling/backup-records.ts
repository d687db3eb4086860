// The large-file editor's own note of each file's latest hot-exit backup, so that unsaved labels
// survive a killed VS Code. VS Code hands a custom editor its backup (openContext.backupId) only when
// its saved editor layout lists that editor as dirty with that backup, and the layout is saved every
// few seconds, not on each edit; the browser workbench's backup tracker never reopens custom-editor
// backups itself. A kill shortly after a backup therefore reopens the file with no backupId, though
// the backup is still on disk. Plain Node (no vscode), one small JSON file per data file.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface BackupRecord {
  /** The data file (absolute path). */
  file: string;
  /** The backup's id: the URI of the file the backup was written to. */
  backup: string;
}

const isRecord = (v: unknown): v is BackupRecord =>
  typeof v === 'object' && v !== null && typeof (v as BackupRecord).file === 'string' && typeof (v as BackupRecord).backup === 'string';

export class BackupRecords {
  /** Records written by this extension host, dropped when it ends cleanly. */
  private readonly written = new Set<string>();

  constructor(private readonly dir: string) {}

  private pathOf(file: string): string {
    return path.join(this.dir, `${crypto.createHash('sha256').update(file).digest('hex').slice(0, 32)}.json`);
  }

  /** The latest backup recorded for `file`, if any (an unreadable record counts as none). */
  find(file: string): BackupRecord | undefined {
    try {
      const r: unknown = JSON.parse(fs.readFileSync(this.pathOf(file), 'utf8'));
      return isRecord(r) && r.file === file ? r : undefined;
    } catch {
      return undefined;
    }
  }

  /** Notes `backup` as the latest backup of `file`; written to a temporary file and renamed, so a kill leaves the old record or the new one. */
  record(file: string, backup: string): void {
    const target = this.pathOf(file);
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ file, backup } satisfies BackupRecord));
    fs.renameSync(tmp, target);
    this.written.add(target);
  }

  /** Takes over `file`'s record from a killed session (its document was restored from it here). */
  adopt(file: string): void {
    if (this.find(file)) this.written.add(this.pathOf(file));
  }

  /** Forgets `file`'s record if it still names `backup` (VS Code dropped that backup: saved, reverted, or replaced by a newer one). */
  forget(file: string, backup?: string): void {
    const r = this.find(file);
    if (!r || (backup !== undefined && r.backup !== backup)) return;
    fs.rmSync(this.pathOf(file), { force: true });
    this.written.delete(this.pathOf(file));
  }

  /**
   * A clean end of the extension host (window closed, reloaded, VS Code quit): VS Code saved its
   * editor layout, so it restores what it kept itself, and what the user chose not to save must not
   * come back (a "Don't Save" when quitting reverts without telling the extension). Records of
   * earlier sessions that were killed, and whose files were not reopened here, stay.
   */
  endSession(): void {
    for (const p of this.written) fs.rmSync(p, { force: true });
    this.written.clear();
  }
}
