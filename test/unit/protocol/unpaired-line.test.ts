// TRL's unpaired format: parsing with file/line/field problems, a paired file unpaired in TRL's
// order, the refusal of unpaired lines by DPO, and pairing up (dpo convert --to paired).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DataProblem, PreferencePair, UNPAIR_BLOCK, pairUp, parseUnpairedLine, unpairPairs } from '../../../src/protocol';
import { parsePreferences } from '../../../src/engine/data/preferences';
import { parseUnpaired } from '../../../src/engine/data/unpaired';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');

describe('unpaired lines', () => {
  it('reads text and conversational lines; bad ones are named by file, line and field', () => {
    const problems: DataProblem[] = [];
    assert.deepEqual(parseUnpairedLine({ prompt: 'Q', completion: ' A', label: false }, 'f.jsonl', 3, problems), {
      line: 3,
      prompt: 'Q',
      completion: ' A',
      label: false,
      conversational: false,
    });
    const chat = parseUnpairedLine(
      { prompt: [{ role: 'user', content: 'hi' }], completion: [{ role: 'assistant', content: 'yo' }], label: true },
      'f',
      4,
      problems,
    );
    assert.equal(chat?.conversational, true);
    assert.equal(problems.length, 0);
    assert.equal(parseUnpairedLine({ prompt: 'Q', completion: '  ', label: true }, 'f.jsonl', 5, problems), undefined);
    assert.equal(parseUnpairedLine({ prompt: 'Q', completion: 'A', label: 'yes' }, 'f.jsonl', 6, problems), undefined);
    assert.equal(parseUnpairedLine({ prompt: [{ role: 'user', content: 'x' }], completion: 'A', label: true }, 'f.jsonl', 7, problems), undefined);
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.field]),
      [
        ['f.jsonl', 5, 'completion'],
        ['f.jsonl', 6, 'label'],
        ['f.jsonl', 7, 'completion'],
      ],
    );
    assert.match(problems[1].message, /true \(desirable\) or false/);
  });

  it("a paired file becomes each block's chosen lines, then its rejected lines (TRL's unpair_preference_dataset)", () => {
    const pairs: PreferencePair[] = Array.from({ length: UNPAIR_BLOCK + 2 }, (_, i) => ({
      line: i + 1,
      prompt: `p${i}`,
      chosen: `c${i}`,
      rejected: `r${i}`,
      conversational: false,
    }));
    const lines = unpairPairs(pairs);
    assert.equal(lines.length, 2 * pairs.length);
    assert.deepEqual(
      lines.slice(0, 2).map((l) => [l.line, l.completion, l.label]),
      [
        [1, 'c0', true],
        [2, 'c1', true],
      ],
    );
    assert.deepEqual([lines[UNPAIR_BLOCK].completion, lines[UNPAIR_BLOCK].label], ['r0', false]);
    assert.deepEqual(
      lines.slice(2 * UNPAIR_BLOCK).map((l) => l.completion),
      [`c${UNPAIR_BLOCK}`, `c${UNPAIR_BLOCK + 1}`, `r${UNPAIR_BLOCK}`, `r${UNPAIR_BLOCK + 1}`],
    );
  });

  it('a KTO file is unpaired lines or pairs, never both', () => {
    const pairs = parseUnpaired(jsonl([{ prompt: 'a', chosen: 'x', rejected: 'y' }]), 'k.jsonl');
    assert.equal(pairs.unpaired, true);
    assert.deepEqual(
      pairs.lines.map((l) => [l.completion, l.label]),
      [
        ['x', true],
        ['y', false],
      ],
    );
    const badLabel = parseUnpaired(
      jsonl([
        { prompt: 'a', completion: 'x', label: true },
        { prompt: 'a', completion: 'y', label: 'yes' },
      ]),
      'k.jsonl',
    );
    assert.deepEqual(
      badLabel.problems.map((p) => [p.line, p.field]),
      [[2, 'label']],
    );
    const skipped = parseUnpaired(
      jsonl([
        { prompt: 'a', completion: 'x', label: true },
        { prompt: 'a', completion: 'y', label: 'skip' },
      ]),
      'k.jsonl',
    );
    assert.deepEqual([skipped.lines.length, skipped.excluded], [1, [2]]);
    const mixed = jsonl([
      { prompt: 'a', completion: 'x', label: true },
      { prompt: 'a', completion: 'y', label: false },
      { prompt: 'b', chosen: 'x', rejected: 'y' },
    ]);
    assert.throws(() => parseUnpaired(mixed, 'k.jsonl'), /k\.jsonl: mixes unpaired lines .* line 3/);
  });

  it('DPO refuses an unpaired line by file, line and field, and says how to convert it', () => {
    const r = parsePreferences(
      jsonl([
        { prompt: 'a', chosen: 'x', rejected: 'y' },
        { prompt: 'a', completion: 'x', label: true },
      ]),
      'd.jsonl',
    );
    assert.equal(r.pairs.length, 1);
    assert.deepEqual([r.problems[0].file, r.problems[0].line, r.problems[0].field], ['d.jsonl', 2, 'label']);
    assert.match(r.problems[0].message, /mode "kto".*dpo convert --to paired/);
  });

  it("pairs up a prompt's desirable and undesirable lines in order; the rest is listed, not written", () => {
    const text = jsonl([
      { prompt: 'a', completion: 'a1', label: true },
      { prompt: 'b', completion: 'b1', label: false },
      { prompt: 'a', completion: 'a2', label: false },
      { prompt: 'a', completion: 'a3', label: true },
      { prompt: 'c', completion: 'same', label: true },
      { prompt: 'c', completion: 'same', label: false },
    ]);
    const { pairs, unmatched } = pairUp(parseUnpaired(text, 'u.jsonl').lines);
    assert.deepEqual(pairs, [{ prompt: 'a', chosen: 'a1', rejected: 'a2' }]);
    assert.deepEqual(unmatched, [2, 4, 5, 6]);
  });

  it('round trip: pairs -> unpaired -> pairs gives the pairs back', () => {
    const original = [
      { prompt: 'p1', chosen: 'good', rejected: 'bad' },
      { prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'hello' }], rejected: [{ role: 'assistant', content: 'go' }] },
    ];
    const unpaired = unpairPairs(parsePreferences(jsonl(original), 'p.jsonl').pairs);
    const back = pairUp(parseUnpaired(jsonl(unpaired.map((l) => ({ prompt: l.prompt, completion: l.completion, label: l.label }))), 'u.jsonl').lines);
    assert.deepEqual(back, { pairs: original, unmatched: [] });
  });
});
