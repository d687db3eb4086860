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
  const same = (i: number) =>
    typeof chosen === 'string' ? chosen[i] === rejected[i] : sameMessage((chosen as ChatMessage[])[i], (rejected as ChatMessage[])[i]);
  const n = Math.min(chosen.length, rejected.length);
  let idx = 0;
  for (let i = 0; i < n; i++) {
    idx = i;
    if (!same(i)) {
      if (typeof chosen === 'string' && chosen[i - 1] === ' ') idx = i - 1;
      break;
    }
  }
  return { prompt: chosen.slice(0, idx) as T, chosen: chosen.slice(idx) as T, rejected: rejected.slice(idx) as T };
}
