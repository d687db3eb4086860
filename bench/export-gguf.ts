// Generation speed of the same model in llama.cpp (an exported GGUF file, through node-llama-cpp's CPU
// build) and in the embedded engine's probe (tfjs, KV cache): greedy, same prompt length and tokens.
// Usage: node out/bench/export-gguf.js --model DIR --gguf FILE.gguf [--gguf FILE2.gguf] [--prompt 32] [--new 64]
// (make the files with `dpo export-gguf`). Prefill is included in both timings.
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeBackend, selectBackend } from '../src/engine/backend';
import { loadModel } from '../src/engine/model/checkpoint';
import { generate } from '../src/engine/probe/generate';
import { TextTokenizer } from '../src/engine/tokenizer/tokenizer';
import { openGguf } from '../test/unit/helpers/llama-cpp';

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      gguf: { type: 'string', multiple: true },
      prompt: { type: 'string', default: '32' },
      new: { type: 'string', default: '64' },
    },
  });
  if (!values.model || !values.gguf?.length) throw new Error('give --model DIR and at least one --gguf FILE');
  const n = Number(values.new);
  const rows: string[] = [];
  const backend = await selectBackend();
  const model = loadModel(path.resolve(values.model), { trainable: false }).model;
  const vocab = model.config.vocabSize;
  const prompt = Array.from({ length: Number(values.prompt) }, (_, i) => (i * 7919) % vocab);
  // Greedy decoding only needs ids: a stand-in tokenizer that never ends early (as bench/generate.ts).
  const tokenizer = { eosId: -1, decode: (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('') } as unknown as TextTokenizer;
  await generate(model, tokenizer, prompt, { maxNewTokens: 2, useCache: true }); // warm-up
  let t0 = process.hrtime.bigint();
  const g = await generate(model, tokenizer, prompt, { maxNewTokens: n, useCache: true });
  let s = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push(`| embedded engine probe (${describeBackend(backend).split(';')[0]}) | ${n} | ${s.toFixed(2)} | ${(n / s).toFixed(1)} |`);
  model.dispose();
  for (const file of values.gguf)
    for (const threads of [1, os.cpus().length]) {
      const m = await openGguf(path.resolve(file), threads);
      await m.greedy(prompt, 2); // warm-up
      t0 = process.hrtime.bigint();
      const ids = await m.greedy(prompt, n);
      s = Number(process.hrtime.bigint() - t0) / 1e9;
      const same = ids.join() === g.ids.join() ? 'same tokens' : `tokens differ from the probe's at ${ids.findIndex((t, i) => t !== g.ids[i])}`;
      rows.push(`| llama.cpp, ${path.basename(file)}, ${threads} thread(s) (${same}) | ${n} | ${s.toFixed(2)} | ${(n / s).toFixed(1)} |`);
      await m.dispose();
    }
  console.log(
    `greedy generation, ${path.basename(values.model)}, prompt ${values.prompt} tokens, ${n} new tokens, ${os.cpus()[0].model}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log('| engine | new tokens | seconds | tokens/s |\n|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
