import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupRecords } from '../../../src/extension/labeling/backup-records';

describe('labeling: the large-file editor notes its latest backup of each file', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-backup-records-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => path.join(root, `records-${n++}`);

  it('finds the newest backup of a file, and only that file', () => {
    const records = new BackupRecords(fresh());
    assert.equal(records.find('/data/a.jsonl'), undefined);
    records.record('/data/a.jsonl', 'file:///backups/a-1');
    records.record('/data/b.jsonl', 'file:///backups/b-1');
    records.record('/data/a.jsonl', 'file:///backups/a-2');
    assert.deepEqual(records.find('/data/a.jsonl'), { file: '/data/a.jsonl', backup: 'file:///backups/a-2' });
    assert.deepEqual(records.find('/data/b.jsonl'), { file: '/data/b.jsonl', backup: 'file:///backups/b-1' });
  });

  it('forgets a record only when VS Code drops the backup it names', () => {
    const records = new BackupRecords(fresh());
    records.record('/data/a.jsonl', 'file:///backups/a-2');
    // VS Code deletes the older backup after writing a newer one: the record names the newer one.
    records.forget('/data/a.jsonl', 'file:///backups/a-1');
    assert.equal(records.find('/data/a.jsonl')?.backup, 'file:///backups/a-2');
    // Saved or reverted: the current backup is dropped, and so is the record.
    records.forget('/data/a.jsonl', 'file:///backups/a-2');
    assert.equal(records.find('/data/a.jsonl'), undefined);
  });

  it('a clean end drops this session’s records; a killed session’s stay for the next one', () => {
    const dir = fresh();
    const killed = new BackupRecords(dir);
    killed.record('/data/killed.jsonl', 'file:///backups/k-1');
    // The killed session never ends; the next session, reading the same folder, finds its record.
    const next = new BackupRecords(dir);
    assert.equal(next.find('/data/killed.jsonl')?.backup, 'file:///backups/k-1');
    next.record('/data/own.jsonl', 'file:///backups/o-1');
    next.endSession();
    assert.equal(next.find('/data/own.jsonl'), undefined, 'what the user closed without saving does not come back');
    assert.equal(next.find('/data/killed.jsonl')?.backup, 'file:///backups/k-1', 'a backup not yet reopened is kept');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary record file left',
    );
  });

  it('an unreadable or foreign record counts as none', () => {
    const dir = fresh();
    const records = new BackupRecords(dir);
    records.record('/data/a.jsonl', 'file:///backups/a-1');
    const [file] = fs.readdirSync(dir);
    fs.writeFileSync(path.join(dir, file), '{"file": "/data/a.jsonl", "bac');
    assert.equal(records.find('/data/a.jsonl'), undefined);
    fs.writeFileSync(path.join(dir, file), JSON.stringify({ file: '/data/other.jsonl', backup: 'file:///backups/x' }));
    assert.equal(records.find('/data/a.jsonl'), undefined);
  });
});
