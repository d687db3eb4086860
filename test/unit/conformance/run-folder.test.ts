// test/conformance/records and test/conformance/resume on the embedded engine's run-folder reader
// and start rule (python/tests/test_conformance.py runs the same cases on the torch engine's).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseLines, parsePairRecord, parseRunRecord, toRecordLine, RunRecord } from '../../../src/protocol';
import { RunFolder } from '../../../src/node/run-folder';
import { startDecision } from '../../../src/engine/train/output-dir';
import { loadCases } from './cases';

interface RecordsCase {
  file: 'metrics' | 'pairs';
  text: string;
  expect: { records: unknown[]; problems: { line: number; contains: string }[] };
}

for (const doc of loadCases<RecordsCase>('records')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, () => {
        const parsed =
          c.file === 'metrics'
            ? (() => {
                const r = parseLines(c.text, parseRunRecord, true);
                return { records: r.records.map((x: RunRecord) => toRecordLine(x)), problems: r.problems };
              })()
            : parseLines(c.text, parsePairRecord, true);
        assert.deepEqual(parsed.records, c.expect.records);
        assert.deepEqual(
          parsed.problems.map((p) => p.line),
          c.expect.problems.map((p) => p.line),
        );
        parsed.problems.forEach((p, i) => assert.ok(p.error.includes(c.expect.problems[i].contains), `line ${p.line}: ${p.error}`));
      });
    }
  });
}

interface ResumeCase {
  resume: boolean;
  layout: { path: string; text?: string; dir?: boolean }[];
  missing?: boolean;
  is_file?: boolean;
  expect: { action: string; step?: number; dir?: string; code?: string; contains?: string[] };
  after?: Record<string, string>;
}

/** The case's folder under a fresh temp folder. */
export function buildLayout(c: ResumeCase): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-conf-')), 'run');
  if (c.missing) return dir;
  if (c.is_file) {
    fs.writeFileSync(dir, 'not a folder');
    return dir;
  }
  fs.mkdirSync(dir);
  for (const e of c.layout) {
    const p = path.join(dir, e.path);
    if (e.dir) fs.mkdirSync(p, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, e.text ?? '');
    }
  }
  return dir;
}

for (const doc of loadCases<ResumeCase>('resume')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, () => {
        const dir = buildLayout(c);
        try {
          const d = startDecision(dir, c.resume);
          assert.equal(d.action, c.expect.action, JSON.stringify(d));
          if (d.action === 'resume') {
            assert.equal(d.step, c.expect.step);
            assert.equal(path.relative(dir, d.dir), c.expect.dir);
            new RunFolder(dir).truncateAfter(d.step);
          }
          if (d.action === 'restart') new RunFolder(dir).truncateAfter(-1);
          if (d.action === 'refuse') assert.equal(d.code, c.expect.code);
          if (d.action === 'refuse' || d.action === 'restart')
            for (const part of c.expect.contains ?? []) assert.ok(d.message.includes(part.replace('{dir}', dir)), `${d.message} lacks ${part}`);
          for (const [name, text] of Object.entries(c.after ?? {})) assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), text, name);
        } finally {
          fs.rmSync(path.dirname(dir), { recursive: true, force: true });
        }
      });
    }
  });
}
