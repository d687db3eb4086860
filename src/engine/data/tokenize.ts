// Preference pairs -> token ids with the prompt kept apart (so it can be masked), as TRL's
// DPOTrainer does: text prompts get the tokenizer's special tokens (e.g. a Llama BOS) and text
// responses get EOS appended; conversational lines are rendered with the chat template, whose
// end-of-turn token ends the response. Truncation keeps the start of the sequence.
import { PreferencePair, Text } from './preferences';
import { TextTokenizer } from '../tokenizer/tokenizer';

export interface TokenizedPair {
  line: number;
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
  /** True when the chosen or rejected response was cut to fit max_length. */
  truncated: boolean;
}

export interface TruncationOptions {
  /** Longest prompt + response, in tokens. */
  maxLength: number;
  /** Longest prompt, in tokens; longer prompts keep their end (the part next to the response). */
  maxPromptLength?: number;
}

export interface TokenizeResult {
  pairs: TokenizedPair[];
  /** Pairs whose prompt alone leaves no room for a response token within max_length. */
  dropped: { line: number; promptTokens: number }[];
  truncatedCount: number;
}

export class TokenizeError extends Error {}

/** Prompt and response as text, split where the response starts. */
function renderPair(tok: TextTokenizer, pair: PreferencePair, response: Text): { prompt: string; response: string } {
  if (!pair.conversational) return { prompt: pair.prompt as string, response: response as string };
  const messages = pair.prompt as Exclude<Text, string>;
  const prompt = tok.applyChatTemplate(messages, true);
  const full = tok.applyChatTemplate([...messages, ...(response as Exclude<Text, string>)], false);
  if (!full.startsWith(prompt)) {
    throw new TokenizeError(`line ${pair.line}: the chat template renders the prompt differently with and without the response, so the response cannot be split off`);
  }
  return { prompt, response: full.slice(prompt.length) };
}

export function tokenizePair(tok: TextTokenizer, pair: PreferencePair): { promptIds: number[]; chosenIds: number[]; rejectedIds: number[] } {
  const chosen = renderPair(tok, pair, pair.chosen);
  const rejected = renderPair(tok, pair, pair.rejected);
  // Chat templates write their own special tokens; plain prompts get the post-processor's.
  const promptIds = tok.encode(chosen.prompt, !pair.conversational);
  // The first response token needs a position before it to be scored: an empty prompt gets BOS.
  if (promptIds.length === 0) {
    const start = tok.bosId ?? tok.eosId;
    if (start === undefined) throw new TokenizeError(`line ${pair.line}: empty prompt and the tokenizer has no bos_token or eos_token to start it`);
    promptIds.push(start);
  }
  const response = (text: string) => {
    const ids = tok.encode(text, false);
    if (!pair.conversational) {
      if (tok.eosId === undefined) throw new TokenizeError('the tokenizer has no eos_token (tokenizer_config.json), which ends every response');
      ids.push(tok.eosId);
    }
    return ids;
  };
  return { promptIds, chosenIds: response(chosen.response), rejectedIds: response(rejected.response) };
}

export function tokenizePairs(tok: TextTokenizer, pairs: PreferencePair[], opts: TruncationOptions): TokenizeResult {
  const out: TokenizedPair[] = [];
  const dropped: TokenizeResult['dropped'] = [];
  let truncatedCount = 0;
  for (const pair of pairs) {
    const tokens = tokenizePair(tok, pair);
    let { promptIds } = tokens;
    const { chosenIds, rejectedIds } = tokens;
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
  return { pairs: out, dropped, truncatedCount };
}
