// A KTO run's examples, as TRL's KTOTrainer prepares them: each unpaired line tokenized like a pair's
// response (prompt, then prompt+completion+EOS), lines whose prompt fills max_length dropped, and
// the KL completion of each line: the completion of the line before it within its batch-sized chunk
// (the first takes the chunk's last), so a batch's KL pairs mismatch prompts and completions.
// An example travels as a TokenizedPair: chosenIds its completion, rejectedIds its KL completion.
import { TextTokenizer } from '../tokenizer/tokenizer';
import { UnpairedLine } from '../../protocol';
import { TokenizedPair, tokenizePair } from '../data/tokenize';

export interface KtoTokenized {
  /** Completions not yet truncated: the KL completions are taken from them. */
  examples: TokenizedPair[];
  dropped: { line: number; promptTokens: number }[];
}

export function tokenizeUnpaired(tok: TextTokenizer, lines: UnpairedLine[], maxLength: number, maxPromptLength?: number): KtoTokenized {
  const examples: TokenizedPair[] = [];
  const dropped: KtoTokenized['dropped'] = [];
  for (const l of lines) {
    const ids = tokenizePair(tok, { line: l.line, prompt: l.prompt, chosen: l.completion, rejected: l.completion, conversational: l.conversational });
    let promptIds = ids.promptIds;
    if (maxPromptLength !== undefined && promptIds.length > maxPromptLength) promptIds = promptIds.slice(promptIds.length - maxPromptLength);
    if (promptIds.length >= maxLength) {
      dropped.push({ line: l.line, promptTokens: promptIds.length });
      continue;
    }
    examples.push({ line: l.line, promptIds, chosenIds: ids.chosenIds, rejectedIds: [], truncated: false, label: l.label });
  }
  return { examples, dropped };
}

/**
 * TRL's add_kl_completion_ids over chunks of `batchSize` from the start (its batched map), then its
 * collator's truncation of prompt+completion to maxLength, for the completion and the KL completion.
 */
export function withKlCompletions(examples: TokenizedPair[], batchSize: number, maxLength: number): { examples: TokenizedPair[]; truncatedCount: number } {
  let truncatedCount = 0;
  const out: TokenizedPair[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const chunk = examples.slice(start, start + batchSize);
    chunk.forEach((e, i) => {
      const kl = chunk[(i + chunk.length - 1) % chunk.length].chosenIds;
      const room = maxLength - e.promptIds.length;
      const truncated = e.chosenIds.length > room;
      if (truncated) truncatedCount++;
      out.push({ ...e, chosenIds: e.chosenIds.slice(0, room), rejectedIds: kl.slice(0, room), truncated });
    });
  }
  return { examples: out, truncatedCount };
}
