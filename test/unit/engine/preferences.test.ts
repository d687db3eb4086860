import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, writeJsonl } from '../helpers/fixtures';
import { DataError, formatProblem, parsePreferences, readPreferenceFile } from '../../../src/engine/data/preferences';

const root = tempDir('prefs');
const msg = (role: string, content: string) => ({ role, content });

describe('preference JSONL', () => {
  it('reads the standard and the conversational formats, keeping 1-based line numbers', () => {
    const text = [
      JSON.stringify({ prompt: 'Q', chosen: 'good', rejected: 'bad' }),
      '',
      JSON.stringify({ prompt: [msg('user', 'Q')], chosen: [msg('assistant', 'good')], rejected: [msg('assistant', 'bad')] }),
    ].join('\n');
    const { pairs, problems } = parsePreferences(text, 'f.jsonl');
    assert.deepEqual(problems, []);
    assert.equal(pairs.length, 2);
    assert.deepEqual([pairs[0].line, pairs[0].conversational, pairs[1].line, pairs[1].conversational], [1, false, 3, true]);
  });

  it('implicit prompt (no "prompt" field): the shared start of chosen and rejected, split as TRL splits it', () => {
    const user = msg('user', 'Sky colour?');
    const file = writeJsonl(path.join(root, 'implicit.jsonl'), [
      { chosen: 'Q: sky? A: blue', rejected: 'Q: sky? A: green' },
      { chosen: [user, msg('assistant', 'Blue.')], rejected: [user, msg('assistant', 'Green.')] },
      { chosen: 'ab ', rejected: 'ab c' },
      { chosen: 'Hi 😀', rejected: 'Hi 😃' },
    ]);
    const { pairs, problems } = parsePreferences(fs.readFileSync(file, 'utf8'), file);
    // The space before the first difference goes to the responses, as in TRL's extract_prompt.
    assert.deepEqual([pairs[0].prompt, pairs[0].chosen, pairs[0].rejected], ['Q: sky? A:', ' blue', ' green']);
    assert.deepEqual(
      [pairs[1].prompt, pairs[1].chosen, pairs[1].rejected, pairs[1].conversational],
      [[user], [msg('assistant', 'Blue.')], [msg('assistant', 'Green.')], true],
    );
    // One side a prefix of the other: TRL splits one character before its end, leaving "chosen" blank.
    assert.deepEqual(
      problems.map((p) => [p.line, p.field]),
      [[3, 'chosen']],
    );
    // Split by code points, as Python: the two emoji share their first UTF-16 unit.
    assert.deepEqual([pairs[2].prompt, pairs[2].chosen, pairs[2].rejected], ['Hi', ' 😀', ' 😃']);
  });

  it('lists every bad line with file, line and field, not only the first', () => {
    const file = writeJsonl(path.join(root, 'bad.jsonl'), [
      { prompt: 'ok', chosen: 'a', rejected: 'b' },
      '{"prompt": "x", "chosen": ',
      { prompt: 'x', chosen: 'same', rejected: 'same' },
      { prompt: 'x', chosen: '   ', rejected: 'b' },
      { prompt: null, chosen: 'a', rejected: 'b' },
      { prompt: 'x', chosen: 5, rejected: 'b' },
      { prompt: [msg('user', 'x')], chosen: 'text', rejected: [msg('assistant', 'b')] },
      { prompt: [{ role: 'user' }], chosen: [msg('assistant', 'a')], rejected: [msg('assistant', 'b')] },
      { prompt: 'x', responses: ['a', 'b'] },
      [1, 2],
      { prompt: 'x', chosen: '', rejected: null },
    ]);
    let error: DataError | undefined;
    try {
      readPreferenceFile(file);
    } catch (err) {
      error = err as DataError;
    }
    assert.ok(error instanceof DataError);
    const lines = error.problems.map(formatProblem);
    assert.deepEqual(lines, [
      `${file}:2: not valid JSON (Unexpected end of JSON input)`,
      `${file}:3: field 'rejected': identical to "chosen": the pair carries no preference`,
      `${file}:4: field 'chosen': empty response`,
      `${file}:5: field 'prompt': must be a string or a list of {"role", "content"} messages, got null`,
      `${file}:6: field 'chosen': must be a string or a list of {"role", "content"} messages, got number`,
      `${file}:7: field 'chosen': is text but "prompt" is a message list; use one format per line`,
      `${file}:8: field 'prompt': message 0 has no string "content"`,
      `${file}:9: unlabeled pair ("responses" without "chosen"/"rejected"): label it first (DPO: Label Pairs)`,
      `${file}:10: not a JSON object; expected {"prompt": …, "chosen": …, "rejected": …}`,
      `${file}:11: field 'chosen': empty response`,
      `${file}:11: field 'rejected': must be a string or a list of {"role", "content"} messages, got null`,
    ]);
    assert.match(error.message, /10 line\(s\) cannot be used for training \(fix them, or pass --skip-bad-lines/);
  });

  it('skips bad lines only when asked, and reports them', () => {
    const file = writeJsonl(path.join(root, 'skip.jsonl'), [{ prompt: 'x', chosen: 'a', rejected: 'b' }, 'nope', { prompt: 'y', chosen: 'c', rejected: 'd' }]);
    assert.throws(() => readPreferenceFile(file), DataError);
    const { pairs, problems } = readPreferenceFile(file, { skipBadLines: true });
    assert.deepEqual(
      pairs.map((p) => p.line),
      [1, 3],
    );
    assert.equal(problems.length, 1);
  });

  it('an unreadable or empty file is an error', () => {
    assert.throws(() => readPreferenceFile(path.join(root, 'missing.jsonl')), /missing\.jsonl: cannot read \(ENOENT\)/);
    assert.throws(() => readPreferenceFile(writeJsonl(path.join(root, 'empty.jsonl'), [])), /no usable preference pairs/);
  });

  it('SFT data may be prompt-completion lines; preference training still refuses them', () => {
    const text = [
      JSON.stringify({ prompt: 'the plot was', completion: ' good.' }),
      JSON.stringify({ prompt: [{ role: 'user', content: 'hi' }], completion: [{ role: 'assistant', content: 'hello' }] }),
      JSON.stringify({ prompt: 'x', completion: '  ' }),
      JSON.stringify({ prompt: 'x', completion: [{ role: 'assistant', content: 'a' }] }),
    ].join('\n');
    const sft = parsePreferences(text, 'f.jsonl', { completions: true });
    assert.deepEqual(
      sft.pairs.map((p) => [p.line, p.chosen, p.conversational]),
      [
        [1, ' good.', false],
        [2, [{ role: 'assistant', content: 'hello' }], true],
      ],
    );
    assert.deepEqual(sft.problems.map(formatProblem), [
      "f.jsonl:3: field 'completion': empty completion",
      'f.jsonl:4: field \'completion\': "prompt" and "completion" must both be text or both be message lists',
    ]);
    const dpo = parsePreferences(text, 'f.jsonl');
    assert.equal(dpo.pairs.length, 0);
    assert.ok(dpo.problems.some((p) => p.line === 1 && p.field === 'chosen' && p.message === 'missing'));
  });
});
