// TRL's CPOTrainer/ORPOTrainer tokenization (tokenize_row, build_tokenized_answer), which SimPO and
// ORPO runs use on both engines: ids without the tokenizer's special tokens, the prompt split off
// prompt+response (one token back when the seam merged), BOS added before the prompt and EOS after
// each response unless already there. Not DPOTrainer's rule (tokenize.ts); truncation is shared.
import { PreferencePair, Text } from './preferences';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { PairIds, TokenizeError, renderFull, renderPrompt } from './tokenize';

const samePrefix = (a: number[], b: number[]) => a.every((id, i) => b[i] === id);

export function tokenizePairCpo(tok: TextTokenizer, pair: PreferencePair): PairIds {
  const prompt = renderPrompt(tok, pair);
  const promptIds = tok.encode(prompt, false);
  let promptMismatch = false;
  const split = (response: Text) => {
    const full = tok.encode(pair.conversational ? renderFull(tok, pair, prompt, response) : prompt + (response as string), false);
    let start = promptIds.length;
    // The prompt's last token merged with the response's first: TRL moves the seam one token back.
    if (!samePrefix(promptIds, full.slice(0, start))) {
      start -= 1;
      promptMismatch = true;
    }
    return { prompt: full.slice(0, start), response: full.slice(start) };
  };
  const chosen = split(pair.chosen);
  const rejected = split(pair.rejected);
  if (chosen.prompt.length !== rejected.prompt.length || !samePrefix(chosen.prompt, rejected.prompt)) {
    // TRL would train the two with different prompt ids; a pair here has one prompt.
    throw new TokenizeError(
      `line ${pair.line}: the prompt's last token merges differently with the chosen and the rejected response, so the pair has no common prompt under TRL's CPO/ORPO tokenization; end the prompt with a space or newline (or start both responses with one)`,
    );
  }
  const ids = [...chosen.prompt];
  const bos = tok.bosId;
  if (bos !== undefined && ids[0] !== bos) ids.unshift(bos);
  const eos = tok.eosId;
  if (eos === undefined) throw new TokenizeError('the tokenizer has no eos_token (tokenizer_config.json), which ends every response');
  const ended = (r: number[]) => (r.length > 0 && r[r.length - 1] === eos ? r : [...r, eos]);
  if (ids.length === 0) throw new TokenizeError(`line ${pair.line}: empty prompt and the tokenizer has no bos_token to start it`);
  return { promptIds: ids, chosenIds: ended(chosen.response), rejectedIds: ended(rejected.response), promptMismatch };
}
