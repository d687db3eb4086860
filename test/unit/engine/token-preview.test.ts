import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { previewPair } from '../../../src/engine/data/token-preview';
import { tokenPreview } from '../../../src/cli/tokens';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';

const root = tempDir('tokens');
const words = tinyModel(path.join(root, 'words'), { layers: 1, dModel: 16, heads: 2, words: ['the', 'plot', 'was', 'great', 'dull'] });
const text = (prompt: string, chosen: string, rejected: string) => ({ line: 1, prompt, chosen, rejected, conversational: false });

describe('token and mask preview', () => {
  it('marks prompt tokens masked, response tokens trained, EOS last, and counts each part', () => {
    const tok = loadTokenizer(words);
    const p = previewPair(tok, text(' the plot was', ' great', ' dull'), { maxLength: 64 });
    assert.deepEqual(
      p.chosen.tokens.map((t) => [t.text, t.role]),
      [
        [' the', 'prompt'],
        [' plot', 'prompt'],
        [' was', 'prompt'],
        [' great', 'response'],
        ['<|endoftext|>', 'response'],
      ],
    );
    assert.equal(p.chosen.tokens.at(-1)!.eos, true);
    assert.equal(p.chosen.promptTokens, 3);
    assert.equal(p.chosen.responseTokens, 2);
    assert.deepEqual(p.warnings, []);
  });

  it('shows where max_prompt_length and max_length cut, and warns when truncation makes chosen equal rejected', () => {
    const tok = loadTokenizer(words);
    const p = previewPair(tok, text(' the plot was', ' the plot was great', ' the plot was dull'), { maxLength: 5, maxPromptLength: 2 });
    assert.deepEqual(
      p.chosen.tokens.filter((t) => t.cut).map((t) => t.text),
      [' the', ' great', '<|endoftext|>'],
    );
    assert.equal(p.chosen.keptPromptTokens, 2);
    assert.equal(p.chosen.keptResponseTokens, 3);
    assert.deepEqual(
      p.warnings.map((w) => w.code),
      ['truncated-equal'],
    );
    assert.deepEqual(previewPair(tok, text(' the plot was', ' the plot was great', ' the plot was dull'), { maxLength: 6, maxPromptLength: 2 }).warnings, []);
  });

  it("warns when the prompt's tokens are not a prefix of prompt+response tokens (a word split across the boundary)", () => {
    const tok = loadTokenizer(words);
    const p = previewPair(tok, text(' the plot wa', 's great', 's dull'), { maxLength: 64 });
    assert.deepEqual(
      p.warnings.map((w) => w.code),
      ['prompt-not-prefix', 'prompt-not-prefix'],
    );
  });

  it('renders chat-format pairs with the chat template and reads the line from the file', () => {
    const data = writeJsonl(path.join(root, 'chat.jsonl'), [
      '',
      { prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'great' }], rejected: [{ role: 'assistant', content: 'dull' }] },
    ]);
    const p = tokenPreview({ modelDir: words, dataFile: data, line: 2 });
    assert.equal(p.conversational, true);
    const prompt = p.chosen.tokens
      .filter((t) => t.role === 'prompt')
      .map((t) => t.text)
      .join('');
    const response = p.chosen.tokens
      .filter((t) => t.role === 'response')
      .map((t) => t.text)
      .join('');
    assert.equal(prompt, '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(response, 'great<|im_end|>\n');
    assert.throws(() => tokenPreview({ modelDir: words, dataFile: data, line: 1 }), /chat.jsonl:1: no pair on this line/);
  });
});
