// Text <-> token ids for a model folder: tokenizer.json through Hugging Face's pure-JS
// @huggingface/tokenizers (BPE byte-level and SentencePiece-style, WordPiece, Unigram), special
// tokens from tokenizer_config.json, and chat templates rendered by @huggingface/jinja.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { UntrustedTokenizer } from './untrusted';
import { renderBounded } from './bounded-template';

import type { ChatMessage } from '../../protocol/preference-line';

export type { ChatMessage };

export class TokenizerError extends Error {}

/** Files that describe a tokenizer; copied verbatim when a model is saved. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'generation_config.json'];

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TokenizerError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value;
  } catch (err) {
    throw new TokenizerError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}

/** tokenizer_config.json writes special tokens as a string or as an AddedToken object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export class TextTokenizer {
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  readonly padId: number | undefined;
  /** The EOS token's text (TRL appends it to text responses before tokenizing). */
  readonly eosToken: string | undefined;
  private readonly template: Template | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly config: Record<string, unknown>,
    readonly vocabSize: number,
    chatTemplate: string | undefined,
    private readonly source: string,
    /** Where encode and render run, bounded in time (see untrusted.ts); in-process when absent. */
    private readonly bounded?: UntrustedTokenizer,
  ) {
    const id = (key: string) => {
      const content = tokenContent(config[key]);
      return content === undefined ? undefined : tokenizer.token_to_id(content);
    };
    this.eosId = id('eos_token');
    this.eosToken = tokenContent(config.eos_token);
    this.bosId = id('bos_token');
    this.padId = id('pad_token') ?? this.eosId;
    try {
      this.template = chatTemplate === undefined ? undefined : new Template(chatTemplate);
    } catch (err) {
      throw new TokenizerError(`${source}: chat template does not parse: ${(err as Error).message}`);
    }
  }

  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  /** Token ids; `addSpecialTokens` runs the post-processor (e.g. a Llama BOS), as HF's default does. */
  encode(text: string, addSpecialTokens = false): number[] {
    if (this.bounded) return this.bounded.call({ op: 'encode', text, addSpecialTokens }) as number[];
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  tokens(text: string): string[] {
    if (this.bounded) return this.bounded.call({ op: 'tokens', text }) as string[];
    return this.tokenizer.encode(text, { add_special_tokens: false }).tokens;
  }

  decode(ids: number[], skipSpecialTokens = false): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  /** Ends the worker thread that encodes and renders (a later call starts a new one). */
  dispose(): void {
    this.bounded?.dispose();
  }

  /** Renders messages with the chat template, as transformers' apply_chat_template(tokenize=False). */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.template) {
      throw new TokenizerError(`${this.source}: the tokenizer has no chat_template, so conversational data cannot be rendered`);
    }
    const items = {
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: tokenContent(this.config.bos_token) ?? '',
      eos_token: tokenContent(this.config.eos_token) ?? '',
      pad_token: tokenContent(this.config.pad_token) ?? '',
      unk_token: tokenContent(this.config.unk_token) ?? '',
    };
    if (this.bounded) return this.bounded.call({ op: 'render', items }) as string;
    try {
      return renderBounded(this.template, items);
    } catch (err) {
      throw new TokenizerError(`${this.source}: chat template: ${(err as Error).message}`);
    }
  }
}

/** Loads the tokenizer of a model folder (tokenizer.json required; tokenizer_config.json optional). */
export function loadTokenizer(dir: string): TextTokenizer {
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) {
    const hint = fs.existsSync(path.join(dir, 'tokenizer.model'))
      ? ' (only a SentencePiece tokenizer.model is present: convert it to tokenizer.json with transformers, e.g. AutoTokenizer.from_pretrained(dir).save_pretrained(dir))'
      : '';
    throw new TokenizerError(`${tokenizerFile}: missing; a model folder needs a tokenizer.json${hint}`);
  }
  const json = readJson(tokenizerFile);
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJson(configFile) : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (err) {
    throw new TokenizerError(`${tokenizerFile}: cannot build the tokenizer: ${(err as Error).message}`);
  }
  const model = json.model as { vocab?: Record<string, number> | unknown[] } | undefined;
  // Ids, not entries: a vocab whose ids skip the added tokens' (as the tiny model's do) ends higher.
  let vocabSize = Array.isArray(model?.vocab)
    ? model.vocab.length
    : Object.values(model?.vocab ?? {}).reduce<number>((n, id) => (typeof id === 'number' ? Math.max(n, id + 1) : n), 0);
  for (const t of (json.added_tokens as { id: number }[] | undefined) ?? []) vocabSize = Math.max(vocabSize, t.id + 1);
  if (vocabSize === 0) throw new TokenizerError(`${tokenizerFile}: the vocabulary is empty (model.vocab has no tokens); every text would encode to nothing`);
  // Newer checkpoints keep the template in chat_template.jinja beside tokenizer_config.json.
  const jinjaFile = path.join(dir, 'chat_template.jinja');
  let chatTemplate = typeof config.chat_template === 'string' ? config.chat_template : undefined;
  let templateFile = configFile;
  if (fs.existsSync(jinjaFile)) {
    chatTemplate = fs.readFileSync(jinjaFile, 'utf8');
    templateFile = jinjaFile;
  }
  const bounded = new UntrustedTokenizer({
    tokenizerFile,
    configFile: fs.existsSync(configFile) ? configFile : undefined,
    template: chatTemplate === undefined ? undefined : { text: chatTemplate, file: templateFile },
  });
  return new TextTokenizer(tokenizer, config, vocabSize, chatTemplate, chatTemplate === undefined ? tokenizerFile : templateFile, bounded);
}
