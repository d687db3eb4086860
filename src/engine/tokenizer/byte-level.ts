// The tokenizer that `dpo make-tiny-model` ships: byte-level BPE with no merges (one token per
// byte, so any text encodes), GPT-2's pre-tokenizer and decoder, and ChatML special tokens with a
// chat template. A real tokenizer.json, loaded by the same code path as downloaded ones.

/** GPT-2's reversible map from bytes to printable unicode characters (bytes_to_unicode). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return map;
}

export const EOS_TOKEN = '<|endoftext|>';
export const CHAT_TOKENS = ['<|im_start|>', '<|im_end|>'];

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * BPE merges that make each word, when it follows a space, one token (GPT-2's "Ġword"), built left
 * to right; every merge starts from a Ġ-token, so the merges of different words never compete.
 */
export function wordMerges(words: string[]): string[] {
  const byteChars = bytesToUnicode();
  const merges: string[] = [];
  const seen = new Set<string>();
  for (const word of words) {
    const chars = [...Buffer.from(' ' + word, 'utf8')].map((b) => byteChars[b]);
    let token = chars[0];
    for (const ch of chars.slice(1)) {
      const merge = `${token} ${ch}`;
      token += ch;
      if (!seen.has(merge)) {
        seen.add(merge);
        merges.push(merge);
      }
    }
  }
  return merges;
}

/**
 * tokenizer.json and tokenizer_config.json contents for the byte-level tokenizer: 256 bytes, the
 * special tokens (256-258), then one token per merge of `words` (259 on).
 */
export function byteLevelTokenizerFiles(words: string[] = []): { tokenizer: Record<string, unknown>; config: Record<string, unknown>; size: number } {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, id) => (vocab[ch] = id));
  const specials = [EOS_TOKEN, ...CHAT_TOKENS];
  const merges = wordMerges(words);
  merges.forEach((m, i) => (vocab[m.replace(' ', '')] = 256 + specials.length + i));
  const addedTokens = specials.map((content, i) => ({
    id: 256 + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const t of addedTokens)
    addedTokensDecoder[String(t.id)] = { content: t.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: addedTokensDecoder,
    bos_token: EOS_TOKEN,
    eos_token: EOS_TOKEN,
    pad_token: EOS_TOKEN,
    unk_token: null,
    model_max_length: 1024,
    clean_up_tokenization_spaces: false,
    chat_template: CHATML_TEMPLATE,
  };
  return { tokenizer, config, size: 256 + specials.length + merges.length };
}
