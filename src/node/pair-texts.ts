// The texts of chosen lines of a preference file, for the metrics panel's drill-down: read as a
// stream up to the last line wanted (data files can be large), never the whole file at once.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { PairText } from '../protocol';

/** Longest text sent per field: the panel shows a first line, not a whole response. */
const MAX_CHARS = 2000;

/** The text a field shows: a string as it is, a chat message list as its last message's content. */
function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.slice(0, MAX_CHARS);
  if (Array.isArray(v) && v.length) {
    const last = v[v.length - 1] as { content?: unknown };
    return typeof last?.content === 'string' ? last.content.slice(0, MAX_CHARS) : undefined;
  }
  return undefined;
}

/** The prompt, chosen and rejected texts of `lines` (1-based); lines that are missing or not pairs are left out. */
export async function readPairTexts(file: string, lines: number[]): Promise<PairText[]> {
  const wanted = new Set(lines);
  const last = Math.max(0, ...lines);
  const out: PairText[] = [];
  if (!wanted.size || !fs.existsSync(file)) return out;
  const stream = fs.createReadStream(file, 'utf8');
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of rl) {
      n++;
      if (wanted.has(n)) {
        try {
          const o = JSON.parse(text) as Record<string, unknown>;
          const [prompt, chosen, rejected] = [textOf(o.prompt), textOf(o.chosen), textOf(o.rejected)];
          if (prompt !== undefined && chosen !== undefined && rejected !== undefined) out.push({ line: n, prompt, chosen, rejected });
        } catch {
          // edited since the run: the drill-down shows its numbers without texts
        }
      }
      if (n >= last) break;
    }
  } finally {
    rl.close();
    stream.destroy();
  }
  return out;
}
