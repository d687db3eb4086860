// Each token's own text in a scored answer, from the answer decoded one token longer at a time: the
// rule both engines follow (src/engine/probe/session.ts; python/dpo_studio/token_text.py), held to
// the same cases by test/conformance/token-text. Pure; the decoding itself is the engine's.

/** One token's text; a token that is only a piece of a multi-byte character has none of its own. */
export interface TokenText {
  /** The characters this token completes; "" for a piece of a character that a later token ends. */
  text: string;
  /** For a piece of a character: that whole character (once a later token completes it), else absent. */
  partOf?: string;
  /** For a piece of a character the answer never completes (it stops mid-character). */
  unfinished?: boolean;
}

/** What a decoder writes for bytes that are not (yet) a whole UTF-8 character. */
export const REPLACEMENT = '\uFFFD';

const withoutTrailingReplacements = (s: string): string => s.replace(/\uFFFD+$/u, '');

/**
 * `prefixes[i]` is the answer's tokens 0..i decoded together; `alone[i]` is token i decoded on its
 * own (used only where a decoder rewrites earlier text, e.g. cleaning up spaces). A prefix that ends
 * in replacement characters ends mid-character: those characters are left to the token that finishes
 * them, so the texts join to the decoded answer and each character is shown once, whole.
 */
export function tokenTexts(prefixes: readonly string[], alone: readonly string[]): TokenText[] {
  const n = prefixes.length;
  // The text that is settled after each token: the last prefix is taken as it is (a replacement
  // character there is what the answer holds).
  const settled = prefixes.map((p, i) => (i === n - 1 ? p : withoutTrailingReplacements(p)));
  const out: TokenText[] = [];
  let prev = '';
  for (let i = 0; i < n; i++) {
    const s = settled[i];
    out.push({ text: s.startsWith(prev) ? s.slice(prev.length) : (alone[i] ?? '') });
    // After a decoder rewrote earlier text, go on from what it holds now.
    prev = s;
  }
  for (let i = 0; i < n; i++) {
    if (out[i].text !== '' || !prefixes[i].endsWith(REPLACEMENT)) continue;
    const done = out.slice(i + 1).find((t) => t.text !== '');
    const ch = done === undefined ? undefined : [...done.text][0];
    if (ch === undefined || ch === REPLACEMENT) out[i].unfinished = true;
    else out[i].partOf = ch;
  }
  return out;
}

/** The bytes of a character in hex, as a tokenizer's byte tokens name them: "E2 80 94". */
export function utf8Hex(ch: string): string {
  return [...new TextEncoder().encode(ch)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}
