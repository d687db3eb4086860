// Tokenizers built from tokenizer.json files of the three kinds HF models use. The expected ids are
// what Hugging Face `tokenizers` produces for these vocabularies and merges, derived by hand from its
// algorithms (lowest-rank merge first, greedy longest-match WordPiece, byte fallback).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { bytesToUnicode } from '../../../src/engine/tokenizer/byte-level';

const root = tempDir('tokenizer');

function tokenizerDir(name: string, tokenizer: unknown, config: unknown = {}): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

describe('tokenizers from tokenizer.json', () => {
  it('the tiny model tokenizer: one token per UTF-8 byte, any text round-trips, specials are atomic', () => {
    const tok = loadTokenizer(tinyModel(path.join(root, 'tiny')));
    const text = 'Hello, wörld 👋\n\ttabs  and  spaces';
    const ids = tok.encode(text);
    const map = bytesToUnicode();
    assert.deepEqual(
      ids,
      [...Buffer.from(text, 'utf8')].map((b) => b),
      'ids are the bytes',
    );
    assert.deepEqual(tok.tokens('é'), [map[0xc3], map[0xa9]]);
    assert.equal(tok.decode(ids), text);
    assert.deepEqual(tok.encode('a<|im_start|>b<|endoftext|>'), [97, 257, 98, 256]);
    assert.equal(tok.eosId, 256);
    assert.equal(tok.padId, 256);
    assert.equal(tok.vocabSize, 259);
  });

  it('renders the chat template with @huggingface/jinja', () => {
    const tok = loadTokenizer(path.join(root, 'tiny'));
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], true);
    assert.equal(prompt, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    const full = tok.applyChatTemplate(
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Yo' },
      ],
      false,
    );
    assert.equal(full, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n');
  });

  it('GPT-2 style byte-level BPE applies merges lowest rank first', () => {
    const map = bytesToUnicode();
    const vocab: Record<string, number> = {};
    map.forEach((ch, i) => (vocab[ch] = i));
    vocab['Ġt'] = 256;
    vocab['he'] = 257;
    vocab['Ġthe'] = 258;
    const dir = tokenizerDir(
      'gpt2-bpe',
      {
        version: '1.0',
        added_tokens: [special(259, '<|endoftext|>')],
        normalizer: null,
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: {
          type: 'BPE',
          dropout: null,
          unk_token: null,
          continuing_subword_prefix: '',
          end_of_word_suffix: '',
          fuse_unk: false,
          byte_fallback: false,
          vocab,
          merges: ['Ġ t', 'h e', 'Ġt he'],
        },
      },
      { eos_token: '<|endoftext|>' },
    );
    const tok = loadTokenizer(dir);
    assert.deepEqual(tok.tokens(' the cat'), ['Ġthe', 'Ġ', 'c', 'a', 't']);
    assert.deepEqual(tok.encode(' the cat'), [258, map.indexOf('Ġ'), 99, 97, 116]);
    // "the" at the start has no space, so "Ġt" never applies; only "h e" does.
    assert.deepEqual(tok.tokens('the'), ['t', 'he']);
    assert.equal(tok.decode(tok.encode(' the cat')), ' the cat');
  });

  it('SentencePiece-style BPE (Llama): ▁ prefix, byte fallback, BOS from the post-processor', () => {
    const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2, '▁': 3, h: 4, i: 5, '▁h': 6, '▁hi': 7, e: 8, y: 9, '<0x21>': 10, '▁y': 11 };
    const dir = tokenizerDir(
      'sp-bpe',
      {
        version: '1.0',
        added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'Prepend', prepend: '▁' },
            { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
          ],
        },
        pre_tokenizer: null,
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [],
          special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
        },
        decoder: {
          type: 'Sequence',
          decoders: [
            { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
            { type: 'ByteFallback' },
            { type: 'Fuse' },
            { type: 'Strip', content: ' ', start: 1, stop: 0 },
          ],
        },
        model: {
          type: 'BPE',
          dropout: null,
          unk_token: '<unk>',
          continuing_subword_prefix: null,
          end_of_word_suffix: null,
          fuse_unk: true,
          byte_fallback: true,
          vocab,
          merges: ['▁ h', '▁h i', '▁ y'],
        },
      },
      { bos_token: '<s>', eos_token: '</s>' },
    );
    const tok = loadTokenizer(dir);
    // "▁hey": "▁ h" (rank 0) wins over "▁ y" (rank 2, not adjacent anyway); "!" is not in the vocab -> <0x21>.
    assert.deepEqual(tok.encode('hi! hey', true), [1, 7, 10, 6, 8, 9]);
    assert.deepEqual(tok.encode('hi! hey', false), [7, 10, 6, 8, 9]);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.decode([1, 7, 10, 6, 8, 9], true), 'hi! hey');
  });

  it('WordPiece (BERT): lowercasing, greedy longest match with ##, [UNK] for unknown words', () => {
    const vocab = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, the: 3, cat: 4, '##s': 5, play: 6, '##ing': 7, '!': 8, ca: 9 };
    const dir = tokenizerDir('wordpiece', {
      version: '1.0',
      added_tokens: [special(0, '[UNK]'), special(1, '[CLS]'), special(2, '[SEP]')],
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [1], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] } },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    });
    const tok = loadTokenizer(dir);
    assert.deepEqual(tok.tokens('The cats playing!'), ['the', 'cat', '##s', 'play', '##ing', '!']);
    assert.deepEqual(tok.encode('The dog!', true), [1, 3, 0, 8, 2]);
  });

  it('a folder without tokenizer.json says what to do', () => {
    const dir = path.join(root, 'none');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'tokenizer.model'), '');
    assert.throws(() => loadTokenizer(dir), /tokenizer\.json: missing; .*only a SentencePiece tokenizer\.model is present: convert it/);
  });

  it('a broken chat template is reported at load time', () => {
    const dir = tokenizerDir('bad-template', JSON.parse(fs.readFileSync(path.join(root, 'tiny', 'tokenizer.json'), 'utf8')), {
      chat_template: '{% for m in messages %}',
    });
    assert.throws(() => loadTokenizer(dir), /chat template does not parse/);
  });
});
