// Edits to one top-level member of a JSON object line that leave every other byte of the line as
// it was: unknown fields keep their text exactly (number spellings, escapes, spacing, key order),
// which a JSON.parse/JSON.stringify round trip would not (big integers, "1e3", integer-like keys).
// Callers pass text that JSON.parse accepted as an object.

export interface MemberSpan {
  key: string;
  /** End of the key's closing quote. */
  keyEnd: number;
  /** Offsets into the line: the member runs from the key's quote to the end of its value. */
  start: number;
  valueStart: number;
  end: number;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

/** End (exclusive) of the string starting at the quote at i. */
function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  throw new Error('unterminated string');
}

/** End (exclusive) of the value starting at i. */
function valueEnd(s: string, i: number): number {
  if (s[i] === '"') return stringEnd(s, i);
  if (s[i] === '{' || s[i] === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (c === '"') j = stringEnd(s, j) - 1;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error('unbalanced brackets');
  }
  let j = i;
  while (j < s.length && !',}] \t\r\n'.includes(s[j])) j++;
  return j;
}

/** The top-level members of an object line, in order. */
export function topLevelMembers(s: string): MemberSpan[] {
  const out: MemberSpan[] = [];
  let i = skipSpace(s, 0);
  if (s[i] !== '{') throw new Error('not a JSON object');
  i = skipSpace(s, i + 1);
  while (s[i] === '"') {
    const start = i;
    const keyEnd = stringEnd(s, i);
    const key = JSON.parse(s.slice(i, keyEnd)) as string;
    i = skipSpace(s, keyEnd);
    i = skipSpace(s, i + 1); // ':'
    const valueStart = i;
    const end = valueEnd(s, i);
    out.push({ key, keyEnd, start, valueStart, end });
    i = skipSpace(s, end);
    if (s[i] === ',') i = skipSpace(s, i + 1);
  }
  return out;
}

/**
 * Sets `key` to `value` (any JSON value): the value text is replaced where the key already is
 * (the last occurrence, the one JSON.parse keeps), else the member is appended before the '}'.
 */
export function setMember(s: string, key: string, value: unknown): string {
  const json = JSON.stringify(value);
  const members = topLevelMembers(s);
  const found = members.filter((m) => m.key === key).pop();
  if (found) return s.slice(0, found.valueStart) + json + s.slice(found.end);
  const close = s.lastIndexOf('}');
  // Follow the line's own spacing after ':' and between members when it has any.
  const colon = members.length > 0 ? s.slice(members[0].keyEnd, members[0].valueStart) : ': ';
  const member = `${JSON.stringify(key)}${colon}${json}`;
  if (members.length === 0) return s.slice(0, close) + member + s.slice(close);
  const last = members[members.length - 1];
  const sep = members.length > 1 ? s.slice(members[0].end, members[1].start) : ', ';
  return s.slice(0, last.end) + sep + member + s.slice(last.end);
}

/** Removes every occurrence of `key` with its separating comma. */
export function deleteMember(s: string, key: string): string {
  for (;;) {
    const members = topLevelMembers(s);
    const idx = members.findIndex((m) => m.key === key);
    if (idx < 0) return s;
    const m = members[idx];
    if (idx < members.length - 1) s = s.slice(0, m.start) + s.slice(members[idx + 1].start);
    else if (idx > 0) s = s.slice(0, members[idx - 1].end) + s.slice(m.end);
    else s = s.slice(0, m.start) + s.slice(m.end);
  }
}
