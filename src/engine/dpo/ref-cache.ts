// Reference log-probs computed once per (reference weights, data, tokenizer, truncation) and cached
// in the run folder, so a step needs no reference forward pass and the reference weights can leave
// memory. A changed input changes the key, so a stale cache is never read.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CausalLM } from '../model/transformer';
import { TokenizedPair } from '../data/tokenize';
import { collate } from '../data/batch';
import { pairRows, rowBatches } from './score-pairs';
import { computeSequenceLogps } from './logps';
import { writeFileAtomic } from '../../node/fs-atomic';
import { TOKENIZER_FILES } from '../tokenizer/tokenizer';

/** Summed reference log-probs of a pair's chosen and rejected responses, by data line. */
export type RefLogps = Map<number, [number, number]>;

const CACHE_VERSION = 2;

function hashFile(h: ReturnType<typeof createHash>, file: string): void {
  h.update(`${path.basename(file)}\0`);
  h.update(fs.readFileSync(file));
}

/** The cache key: the bytes of every input that changes a reference log-prob. */
export function refCacheKey(inputs: {
  referenceDir: string;
  tokenizerDir: string;
  dataFiles: string[];
  maxLength: number;
  maxPromptLength: number | null;
}): string {
  const h = createHash('sha256');
  h.update(`v${CACHE_VERSION}\0`);
  const dir = inputs.referenceDir;
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.safetensors') || n === 'config.json')
    .sort())
    hashFile(h, path.join(dir, f));
  // The data is tokenized by the policy's tokenizer (config.model), not by the reference folder's.
  h.update('tokenizer\0');
  for (const f of TOKENIZER_FILES) if (fs.existsSync(path.join(inputs.tokenizerDir, f))) hashFile(h, path.join(inputs.tokenizerDir, f));
  for (const f of inputs.dataFiles) hashFile(h, f);
  h.update(`max_length=${inputs.maxLength}\0max_prompt_length=${inputs.maxPromptLength}`);
  return h.digest('hex').slice(0, 32);
}

export interface RefCacheFile {
  key: string;
  train: [number, [number, number]][];
  eval: [number, [number, number]][];
}

export function readRefCache(dir: string, key: string): { train: RefLogps; eval: RefLogps } | undefined {
  const file = path.join(dir, `${key}.json`);
  if (!fs.existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as RefCacheFile;
    if (parsed.key !== key) return undefined;
    return { train: new Map(parsed.train), eval: new Map(parsed.eval) };
  } catch {
    return undefined; // unreadable cache: recompute
  }
}

export function writeRefCache(dir: string, key: string, train: RefLogps, evalLogps: RefLogps): void {
  fs.mkdirSync(dir, { recursive: true });
  const body: RefCacheFile = { key, train: [...train], eval: [...evalLogps] };
  writeFileAtomic(path.join(dir, `${key}.json`), JSON.stringify(body));
}

/** Reference log-probs of every pair, in batches, reporting progress. */
export async function computeRefLogps(
  reference: CausalLM,
  pairs: TokenizedPair[],
  batchSize: number,
  padId: number,
  onProgress?: (done: number, total: number) => void,
): Promise<RefLogps> {
  const out: RefLogps = new Map();
  // The training step's own log-prob code (logps.ts, float32 sums), not triage's scorer
  // (score-pairs.ts, float64 sums): at step 0 the policy's log-probs must equal these bit for bit,
  // so that every margin is exactly 0. Batched as the scorer batches, though: chosen and rejected
  // as separate rows sorted by length, rows capped by the widest activation, so a short answer is
  // not padded to its pair's long one. A row's values do not depend on its batch or its padding
  // (every kernel computes a row on its own; test/unit/engine/ref-exact.test.ts checks it).
  const sums = pairs.map((): [number, number] => [0, 0]);
  const pending = pairs.map(() => 2);
  let done = 0;
  const rows = pairRows(pairs);
  for (const idx of rowBatches(reference, rows, batchSize)) {
    const logps = await computeSequenceLogps(
      reference,
      collate(
        idx.map((i) => rows[i]),
        padId,
      ),
    );
    idx.forEach((r, j) => {
      const pair = r >> 1;
      sums[pair][r & 1] = logps[j];
      if (--pending[pair] === 0) done++;
    });
    onProgress?.(done, pairs.length);
    await new Promise(setImmediate);
  }
  pairs.forEach((p, i) => out.set(p.line, sums[i]));
  return out;
}
