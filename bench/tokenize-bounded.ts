// The cost of running the tokenizer and chat template in a time-limited worker (untrusted.ts) on the
// example data: tokenizing examples/preferences.jsonl with the tiny model's tokenizer, in the worker
// and in-process, alternating, `--reps N` times each (median). Also a conversational copy of the
// data, which goes through the chat template. Run: `npm run build && node out/bench/tokenize-bounded.js`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeTinyModel, TINY_MODEL_DEFAULTS } from '../src/engine/model/tiny';
import { loadTokenizer } from '../src/engine/tokenizer/tokenizer';
import { readPreferenceFile } from '../src/engine/data/preferences';
import { tokenizePairs } from '../src/engine/data/tokenize';
import { EXAMPLE_DATA } from '../src/cli/demo';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 7;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-tok-bench-'));
try {
  makeTinyModel(path.join(dir, 'model'), { ...TINY_MODEL_DEFAULTS, layers: 1, dModel: 16, heads: 2 });
  const text = readPreferenceFile(EXAMPLE_DATA).pairs;
  const msg = (role: string, content: unknown) => [{ role, content: String(content) }];
  const chat = text.map((p) => ({
    ...p,
    prompt: msg('user', p.prompt),
    chosen: msg('assistant', p.chosen),
    rejected: msg('assistant', p.rejected),
    conversational: true,
  }));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [name, pairs] of [
    ['text', text],
    ['chat', chat],
  ] as const) {
    const times = { worker: [] as number[], inProcess: [] as number[], firstCall: [] as number[] };
    for (let r = 0; r < reps; r++) {
      for (const mode of ['worker', 'inProcess'] as const) {
        const tok = loadTokenizer(path.join(dir, 'model'));
        if (mode === 'inProcess') (tok as unknown as { bounded?: unknown }).bounded = undefined;
        else {
          const t0 = process.hrtime.bigint();
          tok.encode('warm');
          times.firstCall.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const t0 = process.hrtime.bigint();
        tokenizePairs(tok, pairs, { maxLength: 256 });
        times[mode].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    console.log(
      `${name}: ${pairs.length} pairs; worker ${median(times.worker).toFixed(1)} ms, in-process ${median(times.inProcess).toFixed(1)} ms (median of ${reps}); worker start + first call ${median(times.firstCall).toFixed(1)} ms`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
