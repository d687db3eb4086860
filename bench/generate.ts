// Generation speed with and without the KV cache, same model, prompt and tokens (greedy).
// Usage: node out/bench/generate.js [--shape gpt2-small] [--prompt 32] [--new 32]
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { describeBackend, selectBackend } from '../src/engine/backend';
import { CausalLM } from '../src/engine/model/transformer';
import { initWeights } from '../src/engine/model/tiny';
import { generate } from '../src/engine/probe/generate';
import { TextTokenizer } from '../src/engine/tokenizer/tokenizer';
import { BENCH_SHAPES } from './configs';

async function main() {
  const { values } = parseArgs({
    options: { shape: { type: 'string', default: 'gpt2-small' }, prompt: { type: 'string', default: '32' }, new: { type: 'string', default: '32' } },
  });
  const backend = await selectBackend();
  const shape = BENCH_SHAPES[values.shape!]();
  const model = new CausalLM(shape.config, initWeights(shape.config, 0).weights, false);
  // Greedy decoding only needs token ids: a stand-in tokenizer that never ends early.
  const tokenizer = { eosId: -1, decode: (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('') } as unknown as TextTokenizer;
  const prompt = Array.from({ length: Number(values.prompt) }, (_, i) => (i * 7919) % shape.config.vocabSize);
  const n = Number(values.new);
  const rows: string[] = [];
  let first: number[] | undefined;
  for (const useCache of [true, false]) {
    await generate(model, tokenizer, prompt, { maxNewTokens: 2, useCache }); // warm-up
    const t0 = process.hrtime.bigint();
    const g = await generate(model, tokenizer, prompt, { maxNewTokens: n, useCache });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (first && first.join() !== g.ids.join()) throw new Error('the two modes generated different tokens');
    first = g.ids;
    rows.push(`| ${useCache ? 'KV cache' : 'full forward per token'} | ${n} | ${s.toFixed(2)} | ${(n / s).toFixed(2)} |`);
  }
  console.log(
    `generation, shape ${values.shape}, prompt ${values.prompt} tokens, ${n} new tokens (greedy), ${os.cpus()[0].model}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(describeBackend(backend));
  console.log('| mode | new tokens | seconds | tokens/s |\n|---|---|---|---|');
  for (const r of rows) console.log(r);
  model.dispose();
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
