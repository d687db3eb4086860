// config.json written back with its float literals kept. JSON.parse turns 30.0 into 30, and
// JSON.stringify writes 30; transformers 5 validates config fields by type and refuses an int where
// a float is declared (Gemma 2's final_logit_softcapping), so a re-saved config would not load.

/** Keys that `text` gives an integral value written as a float (30.0, 1e4), at any depth. */
export function integralFloatKeys(text: string): string[] {
  const keys = new Set<string>();
  const re = /"((?:[^"\\]|\\.)*)"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?=\s*[,}\]])/g;
  for (const m of text.matchAll(re)) {
    if (/[.eE]/.test(m[2]) && Number.isInteger(Number(m[2]))) keys.add(m[1]);
  }
  return [...keys];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** JSON (2-space indent) of `value`, with the integral values of `floatKeys` written as 30.0 again. */
export function stringifyKeepingFloats(value: unknown, floatKeys: readonly string[]): string {
  let text = JSON.stringify(value, null, 2);
  for (const key of floatKeys) {
    const re = new RegExp(`("${escapeRegExp(JSON.stringify(key).slice(1, -1))}": )(-?\\d+)(?=,?\\r?\\n|\\s*[}\\]])`, 'g');
    text = text.replace(re, '$1$2.0');
  }
  return text;
}
