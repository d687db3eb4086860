// How a failed child process (pip, the import check, an engine) is described to the user: the line
// that says what went wrong comes first, because a notification shows one line; the full tail
// follows for the log. Never a header such as "failed (exit 1):" or "Last lines:" with nothing after.

const KEY_LINE = /\b(error|exception|no module named|not found|killed|denied)\b/i;

function meaningful(lines: readonly string[]): string[] {
  return lines.map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
}

/** The last line that names an error, else the last line; undefined when there is none. */
export function keyLine(lines: readonly string[]): string | undefined {
  const kept = meaningful(lines);
  return ([...kept].reverse().find((l) => KEY_LINE.test(l)) ?? kept[kept.length - 1])?.trim();
}

/** "pip install failed (exit 1): ERROR: No matching distribution…\nLast lines:\n…". */
export function failureText(what: string, status: string, tail: readonly string[]): string {
  const lines = meaningful(tail);
  const key = keyLine(lines);
  if (!key) return `${what} failed (${status}) without printing anything`;
  return `${what} failed (${status}): ${key}\nLast lines:\n${lines.join('\n')}`;
}

/** One line for a notification: a first line ending in ":" gets the key line of the rest, or loses its colon. */
export function toastLine(message: string, max = 500): string {
  const [first = '', ...rest] = message.split('\n');
  let line = first.trimEnd();
  if (line.endsWith(':')) {
    const key = keyLine(rest.filter((l) => !/^\s*last lines:\s*$/i.test(l)));
    line = key ? `${line} ${key}` : line.slice(0, -1).trimEnd();
  }
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
