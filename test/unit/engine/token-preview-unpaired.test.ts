// `dpo tokens` on an unpaired line ({prompt, completion, label}, KTO): the one completion as training
// tokenizes it, with its label, and no "chosen equals rejected" warning (there is one completion).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { formatTokenPreview, tokenPreview } from '../../../src/cli/tokens';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';

const root = tempDir('tokens-unpaired');
const words = tinyModel(path.join(root, 'words'), { layers: 1, dModel: 16, heads: 2, words: ['the', 'plot', 'was', 'great', 'dull'] });

describe('token preview: unpaired lines', () => {
  it('shows the completion KTO trains on, with its label', () => {
    const data = writeJsonl(path.join(root, 'kto.jsonl'), [
      { prompt: ' the plot was', completion: ' great', label: true },
      { prompt: ' the plot was', completion: ' dull' },
    ]);
    const p = tokenPreview({ modelDir: words, dataFile: data, line: 1 });
    assert.equal(p.unpairedLabel, true);
    const response = p.chosen.tokens.filter((t) => t.role === 'response');
    assert.deepEqual(
      response.map((t) => t.eos),
      [false, true],
      'the completion, then EOS',
    );
    assert.equal(response[0].text.trim(), 'great');
    assert.deepEqual(p.warnings, []);
    const text = formatTokenPreview(p);
    assert.match(text, /completion \(label true: desirable\)/);
    assert.doesNotMatch(text, /^rejected:/m);
    assert.equal(tokenPreview({ modelDir: words, dataFile: data, line: 2 }).unpairedLabel, null);
    assert.match(formatTokenPreview(tokenPreview({ modelDir: words, dataFile: data, line: 2 })), /not labeled yet/);
  });
});
