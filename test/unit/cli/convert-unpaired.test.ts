// `dpo convert --to unpaired|paired` through its files: pairs -> unpaired lines -> pairs gives the
// pairs back, and lines that cannot be paired up are listed, not written.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertPreferences } from '../../../src/cli/convert';
import { tempDir, writeJsonl } from '../helpers/fixtures';

const read = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('dpo convert: unpaired and paired', () => {
  it('round trip: pairs -> unpaired -> pairs', () => {
    const dir = tempDir('convert-kto');
    const pairs = [
      { prompt: 'Q1', chosen: ' yes', rejected: ' no' },
      { prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello!' }], rejected: [{ role: 'assistant', content: 'Go.' }] },
      { chosen: '\n\nHuman: Hi\n\nAssistant: Hello!', rejected: '\n\nHuman: Hi\n\nAssistant: Go away.' },
    ];
    const src = writeJsonl(path.join(dir, 'pairs.jsonl'), pairs);
    const unpaired = path.join(dir, 'unpaired.jsonl');
    assert.deepEqual(convertPreferences({ input: src, output: unpaired, to: 'unpaired', split: 'train' }), { written: 6 });
    const lines = read(unpaired);
    assert.deepEqual(
      lines.map((l) => l.label),
      [true, true, true, false, false, false],
    );
    assert.deepEqual(lines[2], { prompt: '\n\nHuman: Hi\n\nAssistant:', completion: ' Hello!', label: true }); // HH read as TRL's fields
    const back = path.join(dir, 'back.jsonl');
    assert.deepEqual(convertPreferences({ input: unpaired, output: back, to: 'paired', split: 'train' }), { written: 3, unmatched: [] });
    assert.deepEqual(read(back), [pairs[0], pairs[1], { prompt: '\n\nHuman: Hi\n\nAssistant:', chosen: ' Hello!', rejected: ' Go away.' }]);
  });

  it('lists the lines left without a partner and writes only the pairs', () => {
    const dir = tempDir('convert-kto');
    const src = writeJsonl(path.join(dir, 'u.jsonl'), [
      { prompt: 'a', completion: 'x', label: true },
      { prompt: 'a', completion: 'y', label: true },
      { prompt: 'b', completion: 'z', label: false },
      { prompt: 'a', completion: 'w', label: false },
    ]);
    const out = path.join(dir, 'p.jsonl');
    assert.deepEqual(convertPreferences({ input: src, output: out, to: 'paired', split: 'train' }), { written: 1, unmatched: [2, 3] });
    assert.deepEqual(read(out), [{ prompt: 'a', chosen: 'x', rejected: 'w' }]);
  });
});
