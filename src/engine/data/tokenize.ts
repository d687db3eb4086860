// Preference pairs -> token ids with the prompt kept apart (so it can be masked), as TRL's
// DPOTrainer does: text prompts get the tokenizer's special tokens (e.g. a Llama BOS) and text
// responses get EOS appended; conversational lines are rendered with the chat template, whose
// end-of-turn token ends the response. Truncation keeps the start of the sequence.
// Checked against TRL itself in python/tests/reference/test_chat_templates.py.
import { PreferencePair, Text } from './preferences';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { tokenizePairCpo } from './tokenize-cpo';

export interface TokenizedPair {
  line: number;
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
  /** True when the chosen or rejected response was cut to fit max_length. */
  truncated: boolean;
  /**
   * Mode "kto" only: the line's label (true: desirable). Such an example is one unpaired line:
   * chosenIds is its completion and rejectedIds its KL completion (train/kto-data.ts).
   */
  label?: boolean;
}

export interface TruncationOptions {
  /** Longest prompt + response, in tokens. */
  maxLength: number;
  /** Longest prompt, in tokens; longer prompts keep their end (the part next to the response). */
  maxPromptLength?: number;
  /** How a pair becomes ids: TRL's DPOTrainer rule (the default) or its CPOTrainer/ORPOTrainer rule (tokenize-cpo.ts). */
  rule?: 'dpo' | 'cpo';
}

export interface TokenizeResult {
  pairs: TokenizedPair[];
  /** Lines whose prompt ids are not the start of prompt+response's ids (kept, as TRL keeps them). */
  promptMismatches: number[];
  /** Pairs whose prompt alone leaves no room for a response token within max_length. */
  dropped: { line: number; promptTokens: number }[];
  truncatedCount: number;
}

export class TokenizeError extends Error {}

/** The prompt as text: plain, or the chat template's rendering with the generation prompt. */
export function renderPrompt(tok: TextTokenizer, pair: PreferencePair): string {
  return pair.conversational ? tok.applyChatTemplate(pair.prompt as Exclude<Text, string>, true) : (pair.prompt as string);
}

/** Prompt plus response as text; a text response ends with the EOS token's text, as TRL appends it. */
export function renderFull(tok: TextTokenizer, pair: PreferencePair, prompt: string, response: Text): string {
  if (!pair.conversational) {
    const eos = tok.eosToken;
    if (eos === undefined) throw new TokenizeError('the tokenizer has no eos_token (tokenizer_config.json), which ends every response');
    const text = prompt + (response as string);
    return text.endsWith(eos) ? text : text + eos;
  }
  const full = tok.applyChatTemplate([...(pair.prompt as Exclude<Text, string>), ...(response as Exclude<Text, string>)], false);
  if (!full.startsWith(prompt)) {
    throw new TokenizeError(
      `line ${pair.line}: the chat template renders the prompt differently with and without the response, so the response cannot be split off`,
    );
  }
  return full;
}

export interface PairIds {
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
  /** The prompt's own ids are not the start of prompt+response's (TRL's "Mismatch between tokenized prompt…"). */
  promptMismatch: boolean;
}

/**
 * TRL's rule (DPOTrainer's tokenize_fn): tokenize the prompt, then prompt+response, and take the
 * response as the ids after the prompt's length. So a response is tokenized in context (a
 * SentencePiece tokenizer adds no "▁" of its own to it; merges across the seam are kept), and the
 * ids are the ones a model trained by TRL on the same data saw.
 */
export function tokenizePair(tok: TextTokenizer, pair: PreferencePair): PairIds {
  const prompt = renderPrompt(tok, pair);
  // Chat templates write their own special tokens; plain text gets the post-processor's (a Llama BOS).
  const special = !pair.conversational;
  const promptIds = tok.encode(prompt, special);
  let promptMismatch = false;
  const response = (r: Text) => {
    const full = tok.encode(renderFull(tok, pair, prompt, r), special);
    if (promptIds.some((id, i) => full[i] !== id)) promptMismatch = true;
    return full.slice(promptIds.length);
  };
  const chosenIds = response(pair.chosen);
  const rejectedIds = response(pair.rejected);
  // The first response token needs a position before it to be scored: an empty prompt gets BOS.
  if (promptIds.length === 0) {
    const start = tok.bosId ?? tok.eosId;
    if (start === undefined) throw new TokenizeError(`line ${pair.line}: empty prompt and the tokenizer has no bos_token or eos_token to start it`);
    promptIds.push(start);
  }
  return { promptIds, chosenIds, rejectedIds, promptMismatch };
}

export function tokenizePairs(tok: TextTokenizer, pairs: PreferencePair[], opts: TruncationOptions): TokenizeResult {
  const out: TokenizedPair[] = [];
  const dropped: TokenizeResult['dropped'] = [];
  const promptMismatches: number[] = [];
  let truncatedCount = 0;
  for (const pair of pairs) {
    const tokens = opts.rule === 'cpo' ? tokenizePairCpo(tok, pair) : tokenizePair(tok, pair);
    let { promptIds } = tokens;
    const { chosenIds, rejectedIds, promptMismatch } = tokens;
    if (promptMismatch) promptMismatches.push(pair.line);
    if (opts.maxPromptLength !== undefined && promptIds.length > opts.maxPromptLength) {
      promptIds = promptIds.slice(promptIds.length - opts.maxPromptLength);
    }
    const room = opts.maxLength - promptIds.length;
    if (room < 1) {
      dropped.push({ line: pair.line, promptTokens: promptIds.length });
      continue;
    }
    const truncated = chosenIds.length > room || rejectedIds.length > room;
    if (truncated) truncatedCount++;
    out.push({ line: pair.line, promptIds, chosenIds: chosenIds.slice(0, room), rejectedIds: rejectedIds.slice(0, room), truncated });
  }
  return { pairs: out, promptMismatches, dropped, truncatedCount };
}
