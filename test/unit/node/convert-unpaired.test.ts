// Paired <-> unpaired preference lines (the labeling editor's Convert command): each pair gives one
// desirable and one undesirable line, and back, matched per prompt in file order.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isUnpairedLine, pairedToUnpaired, unpairedToPaired } from '../../../src/node/convert-unpaired';

describe('convert: paired <-> unpaired', () => {
  const pairs = [
    { prompt: 'Q1', chosen: ' yes', rejected: ' no', label: 'a', annotator: 'x' },
    { prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'hello' }], rejected: [{ role: 'assistant', content: 'go' }] },
  ];

  it('a pair is a desirable and an undesirable line; other members are dropped', () => {
    const out = pairedToUnpaired(pairs);
    assert.deepEqual(out.problems, []);
    assert.deepEqual(out.lines.slice(0, 2), [
      { prompt: 'Q1', completion: ' yes', label: true },
      { prompt: 'Q1', completion: ' no', label: false },
    ]);
    assert.equal(out.lines.length, 4);
    assert.ok(out.lines.every(isUnpairedLine));
  });

  it('round trip: unpaired lines of paired data give the same pairs back', () => {
    const back = unpairedToPaired(pairedToUnpaired(pairs).lines);
    assert.deepEqual(
      back.lines,
      pairs.map((p) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected })),
    );
    assert.equal(back.unmatched, 0);
  });

  it('pairs match per prompt in file order; leftovers are counted, bad lines named by line number', () => {
    const rows = [
      { prompt: 'P', completion: 'bad 1', label: false },
      { prompt: 'Q', completion: 'good q', label: true },
      { prompt: 'P', completion: 'good 1', label: true },
      { prompt: 'P', completion: 'good 2', label: true },
      { prompt: 'P', completion: 'unlabeled' },
      { prompt: 'P', completion: 'bad 2', label: false },
    ];
    const out = unpairedToPaired(rows);
    assert.deepEqual(out.lines, [
      { prompt: 'P', chosen: 'good 1', rejected: 'bad 1' },
      { prompt: 'P', chosen: 'good 2', rejected: 'bad 2' },
    ]);
    assert.equal(out.unmatched, 1, '"good q" has no undesirable partner');
    assert.deepEqual(
      out.problems.map((p) => p.line),
      [5],
    );
    assert.match(out.problems[0].message, /true\/false "label"/);
  });

  it('a line that is not a pair is a problem, not dropped silently', () => {
    const out = pairedToUnpaired([{ prompt: 'x', responses: ['a', 'b'] }]);
    assert.deepEqual(out.lines, []);
    assert.deepEqual(out.problems, [{ line: 1, message: 'not a labeled pair: expected "prompt", "chosen" and "rejected"' }]);
  });
});

describe('convert: a whole file', () => {
  it('converts beside the file in the direction its lines ask for, naming bad lines by their file line', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { convertFile } = await import('../../../src/node/convert-unpaired');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-convert-'));
    try {
      const file = path.join(dir, 'prefs.jsonl');
      fs.writeFileSync(
        file,
        ['{"prompt": "Q", "chosen": " y", "rejected": " n"}', '', '{not json', '{"prompt": "R", "chosen": " a", "rejected": " b"}'].join('\n') + '\n',
      );
      const un = convertFile(file);
      assert.equal(un.direction, 'to-unpaired');
      assert.equal(un.out, path.join(dir, 'prefs.unpaired.jsonl'));
      assert.deepEqual(
        un.problems.map((p) => p.line),
        [3],
      );
      const lines = fs
        .readFileSync(un.out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(lines[0], { prompt: 'Q', completion: ' y', label: true });
      assert.equal(lines.length, 4);
      const back = convertFile(un.out);
      assert.equal(back.direction, 'to-paired');
      assert.equal(back.out, path.join(dir, 'prefs.paired.jsonl'));
      assert.deepEqual(
        fs
          .readFileSync(back.out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
        [
          { prompt: 'Q', chosen: ' y', rejected: ' n' },
          { prompt: 'R', chosen: ' a', rejected: ' b' },
        ],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
