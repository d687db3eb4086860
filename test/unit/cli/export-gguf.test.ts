// `dpo export-gguf` proven in llama.cpp itself (node-llama-cpp's CPU build): each exported file's
// tokenization, next-token log-probs at every position, greedy continuation and chat template against
// transformers on the source folder (python/fixtures/gguf_reference.py, float64). Needs the torch env.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { openGguf } from '../helpers/llama-cpp';
import { resolveTorchEnv, torchProcessEnv, torchPython } from '../../../src/node/torch-env';

const REPO = path.resolve(__dirname, '../../../..');
const BIN = path.join(REPO, 'bin', 'dpo.js');
const PY = torchPython(resolveTorchEnv().dir);
const skip = fs.existsSync(PY) ? false : 'no torch environment (npx dpo setup-torch)';

// llama.cpp's CPU GELU reads an f16 lookup table (ggml's GGML_GELU_FP16), so GELU models (GPT-2, Gemma)
// cannot meet 1e-4 in f32 whatever the export does; SiLU models must.
const GELU = new Set(['gpt2', 'gemma2', 'gemma3', 'tiny-gpt2']);
const F32_TOL = 1e-4;
const F32_GELU_TOL = 5e-2;
// f16 rounds every weight to 11 significant bits and ggml's f16 matmul rounds the activations too; q8_0
// keeps 8 bits per weight (a scale per 32) and ggml quantizes the activations to 8 bits for the dot
// products. The fixtures' weights are drawn large (std 0.3) so that errors compound through the layers:
// the bounds hold the worst token over all positions (max) and the average over likely tokens (mean).
const TOL: Record<string, { max: number; mean: number }> = { f16: { max: 0.1, mean: 0.01 }, q8_0: { max: 2, mean: 0.2 } };
const CASES = ['gpt2', 'llama3', 'llama-tied', 'qwen2', 'qwen3', 'mistral', 'phi3', 'gemma2', 'gemma3', 'lora'];
const TINY = ['tiny-gpt2', 'tiny-llama'];
const QUANTISED = ['llama3', 'qwen2', 'gpt2'];

interface Reference {
  prompts: { text: string; ids: number[]; plain_ids: number[]; logps: number[][] }[];
  greedy: { prompt: number[]; tokens: number[] };
  chat: { text: string; template: string; messages: { role: string; content: string }[] } | null;
}

interface GgufTokenizer {
  add_bos_token: boolean;
  tokens: string[];
  bos_token_id?: number;
  eos_token_id?: number;
}

/** The chat template as the GGUF file holds it, rendered by the Jinja engine node-llama-cpp renders
 * templates with (@huggingface/jinja), with the file's own BOS and EOS texts. */
async function renderFromGguf(template: string, tok: GgufTokenizer, messages: { role: string; content: string }[]): Promise<string> {
  const { Template } = (await importEsm('@huggingface/jinja')) as { Template: new (t: string) => { render(v: object): string } };
  const text = (id?: number) => (id === undefined ? '' : tok.tokens[id]);
  return new Template(template).render({ messages, add_generation_prompt: true, bos_token: text(tok.bos_token_id), eos_token: text(tok.eos_token_id) });
}
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

const root = tempDir('export-gguf');
const ref = (c: string): Reference => JSON.parse(fs.readFileSync(path.join(root, c, 'reference.json'), 'utf8')) as Reference;
const gguf = (c: string, t: string) => path.join(root, 'gguf', `${c}-${t}.gguf`);

function python(args: string[]): string {
  const r = spawnSync(PY, args, { cwd: REPO, env: torchProcessEnv(), encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stderr;
}

/** Worst and mean |Δ log p| over every position and every token transformers gives log p > -20. */
async function compare(file: string, r: Reference): Promise<{ max: number; mean: number }> {
  const m = await openGguf(file);
  try {
    let max = 0;
    let sum = 0;
    let n = 0;
    for (const p of r.prompts) {
      assert.deepEqual(m.tokenize(p.text), p.plain_ids, `tokens of ${JSON.stringify(p.text)}`);
      const rows = await m.logps(p.ids);
      rows.forEach((row, t) =>
        p.logps[t].forEach((want, tok) => {
          if (want < -20) return;
          const d = Math.abs((row.get(tok) ?? -Infinity) - want);
          max = Math.max(max, d);
          sum += d;
          n++;
        }),
      );
    }
    return { max, mean: sum / n };
  } finally {
    await m.dispose();
  }
}

describe('dpo export-gguf, loaded in llama.cpp', { skip }, () => {
  before(() => {
    for (const [c, family] of [
      ['tiny-gpt2', 'gpt2'],
      ['tiny-llama', 'llama'],
    ])
      assert.equal(spawnSync(process.execPath, [BIN, 'make-tiny-model', '--family', family, '--out', path.join(root, c)]).status, 0);
    python([path.join(REPO, 'python', 'fixtures', 'gguf_reference.py'), root, ...CASES, ...TINY]);
    // One Python process for all the exports (each would spend seconds importing torch).
    const jobs = [...CASES, ...TINY].map((c) => [path.join(root, c), gguf(c, 'f32'), 'f32']);
    for (const c of QUANTISED) for (const t of ['f16', 'q8_0']) jobs.push([path.join(root, c), gguf(c, t), t]);
    const code = `import json,sys\nfrom dpo_studio.export_gguf import export\nfor m,o,t in json.loads(sys.argv[1]): export(m,o,t,write_modelfile=False)`;
    python(['-c', code, JSON.stringify(jobs)]);
  });

  for (const c of [...CASES, ...TINY]) {
    it(`${c} f32: same tokens, log-probs and greedy continuation as transformers`, async (t) => {
      const r = ref(c);
      const { max } = await compare(gguf(c, 'f32'), r);
      t.diagnostic(`max |Δ log p| ${max.toExponential(2)}`);
      assert.ok(max <= (GELU.has(c) ? F32_GELU_TOL : F32_TOL), `max |Δ log p| ${max}`);
      const m = await openGguf(gguf(c, 'f32'));
      try {
        assert.deepEqual(await m.greedy(r.greedy.prompt, r.greedy.tokens.length), r.greedy.tokens);
        const md = m.metadata() as { tokenizer: { chat_template?: string; ggml: GgufTokenizer } };
        // BOS as transformers adds it when encoding text.
        assert.equal(md.tokenizer.ggml.add_bos_token, r.prompts[0].ids.length > r.prompts[0].plain_ids.length);
        assert.equal(md.tokenizer.chat_template, r.chat?.template);
        if (r.chat) assert.equal(await renderFromGguf(md.tokenizer.chat_template ?? '', md.tokenizer.ggml, r.chat.messages), r.chat.text);
      } finally {
        await m.dispose();
      }
    });
  }

  for (const c of QUANTISED)
    for (const t of ['f16', 'q8_0'] as const)
      it(`${c} ${t}: log-probs within the format's rounding of transformers'`, async (tc) => {
        const d = await compare(gguf(c, t), ref(c));
        tc.diagnostic(`|Δ log p| max ${d.max.toExponential(2)}, mean ${d.mean.toExponential(2)}`);
        assert.ok(d.max <= TOL[t].max && d.mean <= TOL[t].mean, `|Δ log p| max ${d.max}, mean ${d.mean}`);
      });
});
