// The LLM judge's answer cache on disk, so a re-run of an evaluation does not pay for the same
// request twice: one small JSON file per answer, named by a hash of what was asked. It never holds
// the API key (the key is not part of what is hashed or stored), and an unreadable entry is a miss.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs-atomic';

/** Bumped when the entry format or the meaning of a key changes: old entries are then misses. */
const CACHE_VERSION = 1;

export interface CachedAnswer {
  /** The judge's whole answer (the message content), parsed again on every read. */
  content: string;
  /** The model name the endpoint reported, or the one asked for. */
  model: string;
  /** ISO 8601. */
  created: string;
}

/** `$XDG_CACHE_HOME/dpo-studio/judge`, else the platform's per-user cache folder. */
export function defaultJudgeCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = env.HOME || env.USERPROFILE || os.homedir();
  let base = env.XDG_CACHE_HOME;
  if (!base && platform === 'win32') base = env.LOCALAPPDATA || path.join(home, 'AppData', 'Local');
  if (!base && platform === 'darwin') base = path.join(home, 'Library', 'Caches');
  return path.join(base || path.join(home, '.cache'), 'dpo-studio', 'judge');
}

/** What makes two requests the same: the endpoint, the model, the template and the request body sent. */
export interface JudgeCacheKeyParts {
  url: string;
  model: string;
  template: string;
  request: unknown;
}

export function judgeCacheKey(parts: JudgeCacheKeyParts): string {
  return createHash('sha256')
    .update(JSON.stringify([CACHE_VERSION, parts.url, parts.model, parts.template, parts.request]))
    .digest('hex');
}

export class JudgeCache {
  constructor(readonly dir: string) {}

  /** Entries fan out by the first two hex digits, so no folder holds more than a few thousand files. */
  fileOf(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached answer, or undefined when there is none or it cannot be read as one (a miss, not an error). */
  get(key: string): CachedAnswer | undefined {
    let raw: string;
    try {
      raw = fs.readFileSync(this.fileOf(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const e = JSON.parse(raw) as Record<string, unknown>;
      if (e.version !== CACHE_VERSION || e.key !== key || typeof e.content !== 'string') return undefined;
      return { content: e.content, model: typeof e.model === 'string' ? e.model : '', created: typeof e.created === 'string' ? e.created : '' };
    } catch {
      return undefined; // a torn or hand-edited entry: ask again, and the next put replaces it
    }
  }

  /** Writes one entry whole (temp file, then rename), so a kill leaves either the old entry or the new. */
  put(key: string, answer: CachedAnswer): void {
    const file = this.fileOf(key);
    // Judge answers may quote private prompts: keep the folder to its owner.
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, JSON.stringify({ version: CACHE_VERSION, key, ...answer }) + '\n');
  }
}
