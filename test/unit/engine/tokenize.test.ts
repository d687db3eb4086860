import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { parsePreferences } from '../../../src/engine/data/preferences';
import { tokenizePairs } from '../../../src/engine/data/tokenize';
import { collatePairs } from '../../../src/engine/data/batch';

const tok = loadTokenizer(tinyModel(path.join(tempDir('tokenize'), 'm')));
const bytes = (s: string) => [...Buffer.from(s, 'utf8')];
const pairsOf = (rows: unknown[]) => parsePreferences(rows.map((r) => JSON.stringify(r)).join('\n'), 't.jsonl').pairs;

describe('tokenizing pairs', () => {
  it('text: prompt kept apart, EOS appended to each response', () => {
    const { pairs } = tokenizePairs(tok, pairsOf([{ prompt: 'Q:', chosen: ' yes', rejected: ' no' }]), { maxLength: 64 });
    assert.deepEqual(pairs[0].promptIds, bytes('Q:'));
    assert.deepEqual(pairs[0].chosenIds, [...bytes(' yes'), 256]);
    assert.deepEqual(pairs[0].rejectedIds, [...bytes(' no'), 256]);
  });

  it('conversational: rendered with the chat template, the response is what follows the generation prompt, no extra EOS', () => {
    const m = (role: string, content: string) => ({ role, content });
    const { pairs } = tokenizePairs(tok, pairsOf([{ prompt: [m('user', 'Hi')], chosen: [m('assistant', 'Yo')], rejected: [m('assistant', 'No')] }]), {
      maxLength: 64,
    });
    assert.deepEqual(pairs[0].promptIds, tok.encode('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'));
    assert.deepEqual(pairs[0].chosenIds, [...bytes('Yo'), 258, 10]);
    assert.ok(!pairs[0].chosenIds.includes(256));
  });

  it('truncates to max_length keeping the start; drops and counts pairs whose prompt alone does not fit', () => {
    const r = tokenizePairs(
      tok,
      pairsOf([
        { prompt: 'abcd', chosen: 'efghij', rejected: 'k' },
        { prompt: 'abcdefghij', chosen: 'x', rejected: 'y' },
        { prompt: 'ab', chosen: 'c', rejected: 'd' },
      ]),
      { maxLength: 8 },
    );
    assert.deepEqual(r.dropped, [{ line: 2, promptTokens: 10 }]);
    assert.equal(r.truncatedCount, 1);
    assert.deepEqual(r.pairs[0].chosenIds, bytes('efgh'));
    assert.deepEqual(r.pairs[0].rejectedIds, [...bytes('k'), 256]);
    assert.ok(r.pairs[0].truncated);
    assert.ok(!r.pairs[1].truncated);
  });

  it('max_prompt_length keeps the end of the prompt (the part next to the response)', () => {
    const r = tokenizePairs(tok, pairsOf([{ prompt: 'abcdefghij', chosen: 'x', rejected: 'y' }]), { maxLength: 8, maxPromptLength: 3 });
    assert.deepEqual(r.pairs[0].promptIds, bytes('hij'));
  });

  it('an empty prompt starts with BOS so the first response token is scored', () => {
    const r = tokenizePairs(tok, pairsOf([{ prompt: '', chosen: 'a', rejected: 'b' }]), { maxLength: 8 });
    assert.deepEqual(r.pairs[0].promptIds, [256]);
  });

  it('collates chosen rows then rejected rows, right-padded, masking only response tokens', () => {
    const b = collatePairs([{ promptIds: [1, 2], chosenIds: [3], rejectedIds: [4, 5, 6] }], 0);
    assert.equal(b.rows, 2);
    assert.equal(b.length, 5);
    assert.deepEqual(Array.from(b.ids), [1, 2, 3, 0, 0, 1, 2, 4, 5, 6]);
    assert.deepEqual(Array.from(b.responseMask), [0, 0, 1, 0, 0, 0, 0, 1, 1, 1]);
    assert.deepEqual(b.responseTokens, [1, 3]);
    assert.equal(b.realTokens, 8);
  });
});
