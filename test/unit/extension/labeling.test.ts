import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LargeLineFile, savingFile } from '../../../src/extension/labeling/large-file';
import { deleteMember, setMember, topLevelMembers } from '../../../src/extension/labeling/json-members';
import { applyDecision, blindSwap, editResponse, inspectLine } from '../../../src/extension/labeling/pair-line';
import { LineIndex } from '../../../src/extension/labeling/line-index';
import { parsePreferenceLine } from '../../../src/protocol';

const META = { annotator: 'ann', time: '2026-11-22T10:00:00.000Z' };

describe('labeling: edits to a line keep everything else', () => {
  it('finds top-level members through nested values, strings with brackets and escapes', () => {
    const line = '{"a": {"x": [1, "}"]}, "b\\"q": "he said \\"{\\"", "c":3e2 ,"d":null}';
    assert.deepEqual(
      topLevelMembers(line).map((m) => [m.key, line.slice(m.valueStart, m.end)]),
      [
        ['a', '{"x": [1, "}"]}'],
        ['b"q', '"he said \\"{\\""'],
        ['c', '3e2'],
        ['d', 'null'],
      ],
    );
  });

  it('sets and deletes members without touching the other bytes', () => {
    const line = '{"id": 12345678901234567890, "x": 1.50, "prompt": "p"}';
    assert.equal(setMember(line, 'x', 2), '{"id": 12345678901234567890, "x": 2, "prompt": "p"}');
    assert.equal(setMember(line, 'label', 'a'), '{"id": 12345678901234567890, "x": 1.50, "prompt": "p", "label": "a"}');
    assert.equal(setMember('{"a":1,"b":2}', 'c', 3), '{"a":1,"b":2,"c":3}', "the line's own separator style");
    assert.equal(setMember('{}', 'c', 3), '{"c": 3}');
    assert.equal(deleteMember(line, 'x'), '{"id": 12345678901234567890, "prompt": "p"}');
    assert.equal(deleteMember(line, 'prompt'), '{"id": 12345678901234567890, "x": 1.50}');
    assert.equal(deleteMember(line, 'id'), '{"x": 1.50, "prompt": "p"}');
    assert.equal(deleteMember('{"only": 1}', 'only'), '{}');
    assert.equal(deleteMember(line, 'missing'), line);
  });

  it('a decision round trip keeps every unknown field, its text and the key order', () => {
    const line = '{"z_first": true, "id": 12345678901234567890, "prompt": "2+2?", "responses": ["4", "5"], "meta": {"k": [1, 2], "s": "\\u00e9"}, "n": 1.50}';
    const a = applyDecision(line, 'a', META);
    assert.equal(
      a,
      '{"z_first": true, "id": 12345678901234567890, "prompt": "2+2?", "responses": ["4", "5"], "meta": {"k": [1, 2], "s": "\\u00e9"}, "n": 1.50, ' +
        '"chosen": "4", "rejected": "5", "label": "a", "annotator": "ann", "labeled_at": "2026-11-22T10:00:00.000Z"}',
    );
    const b = applyDecision(a, 'b', { ...META, time: '2026-11-22T11:00:00.000Z' });
    assert.deepEqual(
      topLevelMembers(b).map((m) => m.key),
      topLevelMembers(a).map((m) => m.key),
      'relabeling replaces in place',
    );
    assert.deepEqual([JSON.parse(b).chosen, JSON.parse(b).rejected, JSON.parse(b).label], ['5', '4', 'b']);
    const tie = applyDecision(b, 'tie', META);
    assert.equal('chosen' in JSON.parse(tie) || 'rejected' in JSON.parse(tie), false);
    assert.equal(inspectLine(tie).kind, 'tie');
    const back = applyDecision(tie, 'a', META);
    assert.deepEqual(JSON.parse(back), JSON.parse(a), 'labeling again comes back to the same values');
    assert.ok(back.startsWith(line.slice(0, -1)), 'with the original members untouched, in front');
    // The trainer reads what the editor writes.
    const problems: never[] = [];
    const pair = parsePreferenceLine(JSON.parse(a), 'f', 1, problems);
    assert.deepEqual([pair?.chosen, pair?.rejected, problems.length], ['4', '5', 0]);
  });

  it('a review line (chosen/rejected, no responses) keeps the original order as "responses"', () => {
    const line = '{"prompt": "p", "chosen": "good", "rejected": "bad"}';
    const v = inspectLine(line);
    assert.deepEqual([v.kind, v.review, v.responses], ['a', true, ['good', 'bad']]);
    const flipped = applyDecision(line, 'b', META);
    const o = JSON.parse(flipped);
    assert.deepEqual([o.responses, o.chosen, o.rejected, o.label], [['good', 'bad'], 'bad', 'good', 'b']);
    assert.equal(inspectLine(flipped).kind, 'b');
  });

  it('editing a response follows into chosen/rejected; chat lists edit the last message', () => {
    const labeled = applyDecision('{"prompt": "p", "responses": ["x", "y"]}', 'b', META);
    const edited = JSON.parse(editResponse(labeled, 1, 'y2'));
    assert.deepEqual([edited.responses, edited.chosen, edited.rejected], [['x', 'y2'], 'y2', 'x']);
    const chat = JSON.stringify({
      prompt: [{ role: 'user', content: 'hi' }],
      responses: [[{ role: 'assistant', content: 'a' }], [{ role: 'assistant', content: 'b' }]],
    });
    assert.deepEqual(JSON.parse(editResponse(chat, 0, 'hello')).responses[0], [{ role: 'assistant', content: 'hello' }]);
    assert.equal(JSON.parse(editResponse('{"prompt": "p", "chosen": "c", "rejected": "r"}', 1, 'r2')).rejected, 'r2');
  });

  it('names what makes a line unusable, and never labels one', () => {
    const kinds = (t: string) => [inspectLine(t).kind, inspectLine(t).problems.map((p) => `${p.field ?? ''}: ${p.message}`)];
    assert.deepEqual(kinds('   '), ['blank', []]);
    assert.equal(kinds('{"prompt": "p", "responses": ["a"')[0], 'bad');
    assert.deepEqual(kinds('{"prompt": "p", "responses": ["a", "a"]}'), [
      'bad',
      ['responses: the two responses are identical: the pair carries no preference'],
    ]);
    assert.deepEqual(kinds('{"prompt": "p", "responses": ["a", " "]}'), ['bad', ['responses[1]: empty response']]);
    assert.deepEqual(kinds('{"responses": ["a", "b"]}'), ['bad', ['prompt: missing']]);
    assert.deepEqual(kinds('{"prompt": "p", "responses": ["a", "b", "c"]}'), ['bad', ['responses: must be a list of exactly two responses']]);
    assert.deepEqual(kinds('{"prompt": "p", "responses": ["a", "b"], "label": "maybe"}'), ['bad', ['label: must be one of "a", "b", "tie", "skip"']]);
    assert.equal(kinds('{"prompt": "p", "responses": ["a", "b"], "chosen": "zzz", "rejected": "b"}')[0], 'bad');
    assert.equal(kinds('{"prompt": "p", "chosen": "a"}')[0], 'bad');
    assert.equal(kinds('{"prompt": "p", "responses": ["a", "b"]}')[0], 'todo');
    assert.throws(() => applyDecision('{"prompt": "p", "responses": ["a", "a"]}', 'a', META), /identical/);
  });

  it('blind mode order is reproducible and about half the lines are swapped', () => {
    const swaps = Array.from({ length: 1000 }, (_, i) => blindSwap(7, i + 1));
    assert.deepEqual(
      swaps,
      Array.from({ length: 1000 }, (_, i) => blindSwap(7, i + 1)),
    );
    const n = swaps.filter(Boolean).length;
    assert.ok(n > 430 && n < 570, `${n} of 1000 swapped`);
    assert.notDeepEqual(
      swaps,
      Array.from({ length: 1000 }, (_, i) => blindSwap(8, i + 1)),
    );
  });
});

describe('labeling: the lazy line index', () => {
  const pair = (i: number) => `{"prompt": "p${i}", "responses": ["a${i}", "b${i}"]}`;
  function source(lines: string[]) {
    let reads = 0;
    return {
      lines,
      get reads() {
        return reads;
      },
      lineCount: 0,
      src: {
        get lineCount() {
          return lines.length;
        },
        lineAt: (i: number) => (reads++, lines[i]),
      },
    };
  }

  it('inspects only what it is asked for until scanned, then counts every kind', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => pair(i));
    lines[5] = '';
    lines[7] = 'not json';
    lines[9] = applyDecision(pair(9), 'tie', META);
    lines[11] = applyDecision(pair(11), 'a', META);
    const s = source(lines);
    const index = new LineIndex(s.src);
    assert.equal(
      index.find(3, 1, (k) => k !== 'blank'),
      4,
    );
    assert.equal(
      index.find(4, 1, (k) => k !== 'blank'),
      6,
      'blank lines are stepped over',
    );
    assert.ok(s.reads <= 4, `${s.reads} lines read to find the next pair`);
    assert.equal(index.counts().pending, 10_000 - s.reads);
    while (index.scan(2000) > 0);
    assert.ok(index.complete);
    assert.equal(s.reads, 10_000, 'each line inspected once');
    assert.deepEqual(index.counts(), { pairs: 9_999, labeled: 1, tie: 1, skip: 0, left: 9_996, bad: 1, pending: 0, given: 0 });
    assert.deepEqual(index.badLines(), [7]);
  });

  it('follows edits: a changed line is inspected again, inserted and removed lines shift the rest', () => {
    const lines = [pair(0), pair(1), pair(2), pair(3)];
    const index = new LineIndex(source(lines).src);
    while (index.scan(100) > 0);
    lines[1] = applyDecision(lines[1], 'b', META);
    index.splice({ start: 1, removed: 1, added: 1 });
    assert.equal(index.kind(1), 'b');
    lines.splice(2, 0, 'bad line', '');
    index.splice({ start: 2, removed: 1, added: 3 }); // line 2 replaced by three lines (itself last)
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => index.kind(i)),
      ['todo', 'b', 'bad', 'blank', 'todo', 'todo'],
    );
    lines.splice(0, 2);
    index.splice({ start: 0, removed: 3, added: 1 }); // lines 0-2 became one
    index.scan(10);
    assert.deepEqual(index.counts(), { pairs: 3, labeled: 0, tie: 0, skip: 0, left: 2, bad: 1, pending: 0, given: 0 });
  });

  it('a splice that does not match the document resets instead of mislabeling', () => {
    const lines = [pair(0), pair(1)];
    const index = new LineIndex(source(lines).src);
    while (index.scan(100) > 0);
    lines.push(pair(2), pair(3));
    index.splice({ start: 0, removed: 1, added: 1 }); // wrong: the document grew by two
    assert.equal(index.lineCount, 4);
    assert.equal(index.counts().pending, 4);
  });
});

describe('labeling: large files read from disk', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-large-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('indexes lines with \\n, \\r\\n, multi-byte text and a last line with or without a newline', () => {
    for (const [text, lines] of [
      ['a\nbé\r\nc\n', ['a', 'bé', 'c']],
      ['a\n\nc', ['a', '', 'c']],
      ['', ['']],
      ['só\n', ['só']],
    ] as const) {
      const f = new LargeLineFile(write('idx.jsonl', text));
      assert.deepEqual(
        Array.from({ length: f.lineCount }, (_, i) => f.lineAt(i)),
        lines,
        JSON.stringify(text),
      );
      f.close();
    }
  });

  it('keeps edits in memory, saves atomically with every other byte unchanged, and reverts', () => {
    const original = ['{"prompt": "p0", "responses": ["a", "b"]}', '{"x": 1.50}\r', '{"prompt": "p2", "responses": ["ü", "v"]}', 'tail'].join('\n');
    const file = write('save.jsonl', original);
    const f = new LargeLineFile(file);
    const labeled = applyDecision(f.lineAt(2), 'b', META);
    f.setLine(2, labeled);
    f.setLine(0, '{"edited": true}');
    assert.equal(f.lineAt(2), labeled);
    assert.equal(fs.readFileSync(file, 'utf8'), original, 'nothing is written before save');
    assert.deepEqual(
      f
        .editedLines()
        .map(([i]) => i)
        .sort(),
      [0, 2],
    );
    f.setLine(0, '{"prompt": "p0", "responses": ["a", "b"]}');
    assert.deepEqual(
      f.editedLines().map(([i]) => i),
      [2],
      'setting a line back forgets the edit',
    );
    f.save();
    assert.equal(fs.readFileSync(file, 'utf8'), original.replace('{"prompt": "p2", "responses": ["ü", "v"]}', labeled));
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.includes('dpo-saving')),
      [],
      'no temporary file left',
    );
    assert.equal(f.dirty, false);
    assert.equal(f.lineAt(2), labeled, 'the saved file is the new original');
    f.setLine(3, 'changed');
    f.revert();
    assert.equal(f.lineAt(3), 'tail');
    assert.throws(() => f.setLine(1, 'a\nb'), /line break/);
    f.close();
  });

  it('a process killed (SIGKILL) while saving leaves the saved file intact', () => {
    const original = Array.from({ length: 50 }, (_, i) => `{"prompt": "p${i}", "responses": ["a", "b"]}`).join('\n') + '\n';
    const largeFile = path.join(__dirname, '../../../src/extension/labeling/large-file.js');
    // The child kills itself inside save: at its first or second write, or with the copy complete
    // but not yet renamed over the original.
    for (const [fn, call] of [
      ['writeSync', 1],
      ['writeSync', 2],
      ['renameSync', 1],
    ] as const) {
      const file = write(`kill-${fn}-${call}.jsonl`, original);
      const child = `
        const fs = require('node:fs');
        const { LargeLineFile } = require(${JSON.stringify(largeFile)});
        const f = new LargeLineFile(${JSON.stringify(file)});
        f.setLine(3, '{"labeled": true}');
        f.setLine(40, '{"labeled": true}');
        const real = fs.${fn};
        let n = 0;
        fs.${fn} = (...args) => (++n === ${call} ? process.kill(process.pid, 'SIGKILL') : real(...args));
        f.save();`;
      const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8' });
      assert.equal(r.signal, 'SIGKILL', `${fn} #${call}: the child died inside save (${r.stderr})`);
      assert.equal(fs.readFileSync(file, 'utf8'), original, `${fn} #${call}: the file on disk is what was last saved`);
      const leftover = path.basename(savingFile(file, r.pid!));
      assert.ok(fs.readdirSync(dir).includes(leftover), `${fn} #${call}: the killed save left ${leftover}`);
      const again = new LargeLineFile(file);
      assert.ok(!fs.readdirSync(dir).includes(leftover), `${fn} #${call}: the next open removed the killed save's ${leftover}`);
      again.setLine(3, '{"labeled": true}');
      again.save();
      assert.equal(fs.readFileSync(file, 'utf8').split('\n')[3], '{"labeled": true}', 'a later save works');
      again.close();
    }
  });

  it("on opening, removes only this file's temporary saves whose process is gone", () => {
    const file = write('stale.jsonl', '{"prompt": "p", "responses": ["a", "b"]}\n');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: kill(pid, 0) says ESRCH
    const live = process.ppid; // the test runner: running, and not this process
    for (const [target, pid] of [
      [file, dead],
      [file, live],
      [path.join(dir, 'other.jsonl'), dead],
    ] as const)
      fs.writeFileSync(savingFile(target, pid), 'partial');
    fs.writeFileSync(`${savingFile(file, dead)}.bak`, 'not a save of ours');
    const f = new LargeLineFile(file);
    const names = fs.readdirSync(dir);
    assert.ok(!names.includes(path.basename(savingFile(file, dead))), 'the dead save is removed');
    assert.ok(names.includes(path.basename(savingFile(file, live))), 'a live save is kept');
    assert.ok(names.includes(path.basename(savingFile(path.join(dir, 'other.jsonl'), dead))), "another file's save is not touched");
    assert.ok(names.includes(`${path.basename(savingFile(file, dead))}.bak`), 'a name that is not exactly a save is kept');
    assert.equal(f.lineAt(0), '{"prompt": "p", "responses": ["a", "b"]}', 'the data file is intact');
    f.close();
    for (const n of names.filter((n) => n.includes('dpo-saving'))) fs.rmSync(path.join(dir, n));
  });

  it('indexes and reads a 100,000-line file', () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `{"prompt": "p${i}", "responses": ["a${i}", "b${i}"]}`);
    const f = new LargeLineFile(write('big.jsonl', lines.join('\n') + '\n'));
    assert.equal(f.lineCount, 100_000);
    for (const i of [0, 1, 4999, 99_999]) assert.equal(f.lineAt(i), lines[i]);
    f.close();
  });
});
