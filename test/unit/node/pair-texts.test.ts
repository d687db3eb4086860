import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readPairTexts } from '../../../src/node/pair-texts';

describe('pair texts for the drill-down', () => {
  it('reads the asked lines (text and chat), skips bad ones, and stops at the last one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-pair-texts-'));
    try {
      const file = path.join(dir, 'pairs.jsonl');
      const lines = [
        JSON.stringify({ prompt: 'Which colour is the sky?', chosen: ' Blue.', rejected: ' Red.' }),
        '{not json',
        JSON.stringify({
          prompt: [{ role: 'user', content: 'Hi?' }],
          chosen: [{ role: 'assistant', content: 'Hello.' }],
          rejected: [{ role: 'assistant', content: 'Go away.' }],
        }),
        JSON.stringify({ prompt: 'p4', chosen: 'c4', rejected: 'r4' }),
      ];
      fs.writeFileSync(file, lines.join('\n') + '\n');
      assert.deepEqual(await readPairTexts(file, [3, 1, 2]), [
        { line: 1, prompt: 'Which colour is the sky?', chosen: ' Blue.', rejected: ' Red.' },
        { line: 3, prompt: 'Hi?', chosen: 'Hello.', rejected: 'Go away.' },
      ]);
      assert.deepEqual(await readPairTexts(file, [9]), [], 'a line past the end is left out');
      assert.deepEqual(await readPairTexts(path.join(dir, 'gone.jsonl'), [1]), [], 'a missing file gives no texts');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
