// One pair, tokenized exactly as training tokenizes it (tokenize.ts), laid out for a person: each
// side's tokens with prompt (masked) and response (trained) told apart, EOS, and what truncation
// cuts; plus the warnings for the tokenization bugs users hit most (prompt/response boundary,
// truncation that erases the preference).
import { PreferencePair } from '../../protocol/preference-line';
import { PreviewSide, PreviewWarning, TokenPreview } from '../../protocol/token-preview';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { tokenizePair, TruncationOptions } from './tokenize';

function side(tok: TextTokenizer, promptIds: number[], responseIds: number[], keptPrompt: number, keptResponse: number): PreviewSide {
  const text = (id: number) => tok.decode([id]);
  const promptCut = promptIds.length - keptPrompt; // the prompt keeps its end
  return {
    tokens: [
      ...promptIds.map((id, i) => ({ id, text: text(id), role: 'prompt' as const, eos: id === tok.eosId, cut: i < promptCut })),
      ...responseIds.map((id, i) => ({ id, text: text(id), role: 'response' as const, eos: id === tok.eosId, cut: i >= keptResponse })),
    ],
    promptTokens: promptIds.length,
    responseTokens: responseIds.length,
    keptPromptTokens: keptPrompt,
    keptResponseTokens: keptResponse,
  };
}

const startsWith = (a: number[], prefix: number[]) => prefix.length <= a.length && prefix.every((id, i) => a[i] === id);

/** The text the tokenizer sees for prompt and prompt+response (the chat template applied). */
function rendered(tok: TextTokenizer, pair: PreferencePair, response: PreferencePair['chosen']): { prompt: string; full: string } {
  if (!pair.conversational) return { prompt: pair.prompt as string, full: (pair.prompt as string) + (response as string) };
  const messages = pair.prompt as Exclude<PreferencePair['prompt'], string>;
  return { prompt: tok.applyChatTemplate(messages, true), full: tok.applyChatTemplate([...messages, ...(response as typeof messages)], false) };
}

export function previewPair(tok: TextTokenizer, pair: PreferencePair, opts: TruncationOptions): TokenPreview {
  const { promptIds, chosenIds, rejectedIds } = tokenizePair(tok, pair);
  const keptPrompt = opts.maxPromptLength !== undefined ? Math.min(promptIds.length, opts.maxPromptLength) : promptIds.length;
  const room = Math.max(0, opts.maxLength - keptPrompt);
  const warnings: PreviewWarning[] = [];
  const dropped = room < 1;
  if (dropped)
    warnings.push({
      code: 'dropped',
      message: `the prompt alone (${keptPrompt} tokens) fills max_length ${opts.maxLength}: the pair is dropped from training`,
    });
  for (const [name, response] of [
    ['chosen', pair.chosen],
    ['rejected', pair.rejected],
  ] as const) {
    // TRL tokenizes the prompt and prompt+response separately and takes the suffix; when the
    // tokenizer merges across the boundary the prompt's tokens are not a prefix and the split moves.
    const r = rendered(tok, pair, response);
    const special = !pair.conversational;
    const p = tok.encode(r.prompt, special);
    const full = tok.encode(r.full, special);
    if (!startsWith(full, p)) {
      warnings.push({
        code: 'prompt-not-prefix',
        message: `${name}: the prompt's tokens are not a prefix of prompt+${name}'s tokens (the tokenizer merges across the boundary); trainers that tokenize them together mask a different split`,
      });
    }
  }
  const chosenKept = chosenIds.slice(0, room);
  const rejectedKept = rejectedIds.slice(0, room);
  if (!dropped && chosenKept.length === rejectedKept.length && chosenKept.every((id, i) => rejectedKept[i] === id)) {
    warnings.push({
      code: 'truncated-equal',
      message: `after truncation to max_length ${opts.maxLength} (${room} response tokens) chosen and rejected are the same tokens: the pair carries no preference; raise max_length or shorten the prompt`,
    });
  }
  return {
    line: pair.line,
    conversational: pair.conversational,
    maxLength: opts.maxLength,
    maxPromptLength: opts.maxPromptLength ?? null,
    chosen: side(tok, promptIds, chosenIds, keptPrompt, Math.min(room, chosenIds.length)),
    rejected: side(tok, promptIds, rejectedIds, keptPrompt, Math.min(room, rejectedIds.length)),
    dropped,
    warnings,
  };
}
