// A health warning split for one line: what happened, with its numbers, and the rest (the advice),
// shown on expand. The engines write "<what happened>: <advice>" (src/engine/train/health.ts,
// python/dpo_studio/health.py); a message without that shape is split at its first sentence.

const MAX_HEAD = 160;

export function warningParts(message: string): { head: string; rest: string } {
  const colon = message.indexOf(': ');
  const stop = message.search(/\.\s/);
  const cuts = [colon, stop].filter((i) => i > 0);
  const at = cuts.length ? Math.min(...cuts) : -1;
  if (at > 0 && at <= MAX_HEAD) {
    const rest = message.slice(at + (at === colon ? 2 : 1)).trim();
    return { head: message.slice(0, at), rest: rest.charAt(0).toUpperCase() + rest.slice(1) };
  }
  if (message.length <= MAX_HEAD) return { head: message, rest: '' };
  const cut = message.lastIndexOf(' ', MAX_HEAD);
  return { head: `${message.slice(0, cut > 0 ? cut : MAX_HEAD)}…`, rest: message };
}
