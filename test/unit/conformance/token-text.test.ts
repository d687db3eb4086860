// test/conformance/token-text: a scored answer's per-token text from its prefix decodings, through
// the embedded engine's rule (src/protocol/token-text.ts); python/tests/test_token_text.py runs the
// same cases on the torch engine's. Also the rule on the tiny model's real tokenizer, through the
// probe session, so the cases stay what a byte-level tokenizer decodes.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { TokenText, tokenTexts, utf8Hex } from '../../../src/protocol/token-text';
import { ProbeSession } from '../../../src/engine/probe/session';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { loadCases } from './cases';

interface TokenTextCase {
  prefixes: string[];
  alone: string[];
  expect: TokenText[];
  /** false where the decoder rewrites earlier text, so the texts cannot join to the answer. */
  joins_to_answer?: boolean;
}

describe('conformance: token-text', () => {
  for (const f of loadCases<TokenTextCase>('token-text')) {
    for (const c of f.cases) {
      it(c.name, () => {
        const got = tokenTexts(c.prefixes, c.alone);
        assert.deepEqual(got, c.expect);
        // The texts join to the decoded answer: nothing shown twice, nothing lost.
        if (c.joins_to_answer !== false) assert.equal(got.map((t) => t.text).join(''), c.prefixes.at(-1));
      });
    }
  }

  it('names a character by its UTF-8 bytes', () => {
    assert.equal(utf8Hex('—'), 'E2 80 94');
    assert.equal(utf8Hex('😀'), 'F0 9F 98 80');
  });

  describe('on the tiny model, through ProbeSession.score', () => {
    before(useTestBackend);

    it('decodes "a—é😀b" as the first byte-level case does, and marks its pieces', async () => {
      const root = tempDir('token-text');
      const model = tinyModel(path.join(root, 'm'), { seed: 1 });
      const tok = loadTokenizer(model);
      const ids = tok.encode('a—é😀b', false);
      const [, bytes] = loadCases<TokenTextCase>('token-text')[0].cases;
      assert.deepEqual(
        ids.map((_, i) => tok.decode(ids.slice(0, i + 1))),
        bytes.prefixes,
      );
      assert.deepEqual(
        ids.map((id) => tok.decode([id])),
        bytes.alone,
      );
      tok.dispose();
      const s = new ProbeSession();
      s.load(model, model);
      const score = await s.score('Q:', false, 'a—é😀b', 0.1);
      assert.deepEqual(
        score.tokens.map(({ text, partOf, unfinished }) => ({ text, partOf, unfinished })),
        bytes.expect.map((t) => ({ text: t.text, partOf: t.partOf, unfinished: t.unfinished })),
      );
      s.dispose();
    });
  });
});
