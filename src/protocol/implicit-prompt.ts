// TRL's "implicit prompt" preference format: no "prompt" field, the prompt being the part that
// "chosen" and "rejected" share. Split exactly as TRL's extract_prompt does (checked against TRL in
// python/tests/reference/test_datasets.py), so the same line gives the same pair in both engines.
import type { ChatMessage, Text } from './preference-line';

/** Message equality as Python's dict ==: same keys and values, in any order. */
function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && JSON.stringify(ra[k]) === JSON.stringify(rb[k]));
}

/**
 * The shared prefix of chosen and rejected as the prompt, and the rests as the responses: messages
 * for message lists, characters for text. TRL's rule, quirks included: a space just before the first
 * difference goes to the responses, and when one side is a prefix of the other the split falls one
 * element before the shorter one's end (its loop variable stops at the last index).
 */
export function extractPrompt<T extends Text>(chosen: T, rejected: T): { prompt: T; chosen: T; rejected: T } {
  if (typeof chosen === 'string') {
    // By code points, as Python indexes str: UTF-16 units would split an emoji's surrogate pair.
    const split = splitAt([...chosen], [...(rejected as string)], (a, b) => a === b, true);
    return { prompt: split.prompt.join('') as T, chosen: split.chosen.join('') as T, rejected: split.rejected.join('') as T };
  }
  return splitAt(chosen as ChatMessage[], rejected as ChatMessage[], sameMessage, false) as unknown as { prompt: T; chosen: T; rejected: T };
}

function splitAt<E>(chosen: E[], rejected: E[], same: (a: E, b: E) => boolean, text: boolean): { prompt: E[]; chosen: E[]; rejected: E[] } {
  const n = Math.min(chosen.length, rejected.length);
  let idx = 0;
  for (let i = 0; i < n; i++) {
    idx = i;
    if (!same(chosen[i], rejected[i])) {
      // TRL reads chosen[-1] (the LAST character) when the very first differs; not copied: that
      // would make the whole text but one character the prompt.
      if (text && i > 0 && (chosen[i - 1] as unknown) === ' ') idx = i - 1;
      break;
    }
  }
  return { prompt: chosen.slice(0, idx), chosen: chosen.slice(idx), rejected: rejected.slice(idx) };
}
