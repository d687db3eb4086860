// `dpo export-gguf` of SentencePiece tokenizers (Llama 2, Mistral v0.1 from tokenizer.json only, Phi-3 with
// added chat tokens, Gemma without the space prefix) proven in llama.cpp itself (node-llama-cpp's CPU
// build): token ids against transformers' and sentencepiece's, next-token log-probs, greedy continuation
// and the chat template. The tokenizers are trained by sentencepiece in python/fixtures/gguf_spm.py.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { openGguf } from '../helpers/llama-cpp';
import { resolveTorchEnv, torchProcessEnv, torchPython } from '../../../src/node/torch-env';

const REPO = path.resolve(__dirname, '../../../..');
const PY = torchPython(resolveTorchEnv().dir);
const skip = fs.existsSync(PY) ? false : 'no torch environment (npx dpo setup-torch)';

// The same bounds as export-gguf.test.ts: SiLU models within 1e-4 in f32; Gemma's GELU reads llama.cpp's
// f16 lookup table.
const TOL: Record<string, number> = { 'llama2-spm': 1e-4, 'mistral-json': 1e-4, 'llama2-legacy-json': 1e-4, 'phi3-spm': 1e-4, 'gemma2-spm': 5e-2 };
const CASES = Object.keys(TOL);
// Gemma's tokenizer puts no space before the text; the Llama-style ones do.
const SPACE_PREFIX: Record<string, boolean> = { 'llama2-spm': true, 'mistral-json': true, 'llama2-legacy-json': true, 'phi3-spm': true, 'gemma2-spm': false };
// transformers 4's Llama tokenizer.json (a Prepend normalizer) puts the prefix where llama.cpp does.
const LEGACY = new Set(['llama2-legacy-json']);

interface Reference {
  prompts: { text: string; ids: number[]; plain_ids: number[]; logps: number[][] }[];
  greedy: { prompt: number[]; tokens: number[] };
  chat: { text: string; template: string; messages: { role: string; content: string }[] } | null;
  sentencepiece: { text: string; ids: number[]; hf: number[]; llama_cpp: number[] }[];
}

interface GgufTokenizer {
  model: string;
  add_bos_token: boolean;
  add_space_prefix: boolean;
  tokens: string[];
  scores: number[];
  token_type: number[];
  bos_token_id?: number;
  eos_token_id?: number;
}

const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

async function renderFromGguf(template: string, tok: GgufTokenizer, messages: { role: string; content: string }[]): Promise<string> {
  const { Template } = (await importEsm('@huggingface/jinja')) as { Template: new (t: string) => { render(v: object): string } };
  const text = (id?: number) => (id === undefined ? '' : tok.tokens[id]);
  return new Template(template).render({ messages, add_generation_prompt: true, bos_token: text(tok.bos_token_id), eos_token: text(tok.eos_token_id) });
}

const root = tempDir('export-gguf-spm');
const ref = (c: string): Reference => JSON.parse(fs.readFileSync(path.join(root, c, 'reference.json'), 'utf8')) as Reference;
const gguf = (c: string) => path.join(root, 'gguf', `${c}-f32.gguf`);

function python(args: string[]): void {
  const r = spawnSync(PY, args, { cwd: REPO, env: torchProcessEnv(), encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
}

describe('dpo export-gguf of SentencePiece tokenizers, loaded in llama.cpp', { skip }, () => {
  before(() => {
    python([path.join(REPO, 'python', 'fixtures', 'gguf_spm.py'), root, ...CASES]);
    const jobs = CASES.map((c) => [path.join(root, c), gguf(c), 'f32']);
    const code = `import json,sys\nfrom dpo_studio.export_gguf import export\nfor m,o,t in json.loads(sys.argv[1]): export(m,o,t,write_modelfile=False)`;
    python(['-c', code, JSON.stringify(jobs)]);
  });

  for (const c of CASES) {
    it(`${c} f32: same tokens, log-probs, greedy continuation and chat template as transformers`, async (t) => {
      const r = ref(c);
      const m = await openGguf(gguf(c));
      try {
        const md = m.metadata() as { tokenizer: { chat_template?: string; ggml: GgufTokenizer } };
        assert.equal(md.tokenizer.ggml.model, 'llama');
        assert.equal(md.tokenizer.ggml.add_space_prefix, SPACE_PREFIX[c]);
        // ASCII, accents, emoji and CJK through byte pieces, tabs, runs of spaces, newlines, user-defined
        // markers: llama.cpp's ids are sentencepiece's, each stretch of text between added tokens encoded on
        // its own. They are transformers' too except where a space prefix meets text that starts with a
        // space or follows an added token: transformers 5's Metaspace adds no second one, llama.cpp does.
        let differ = 0;
        for (const s of r.sentencepiece) {
          // Special-token parsing on, as transformers matches every added token in text: llama.cpp makes
          // end-of-turn texts such as <end_of_turn> control tokens whatever the file says.
          const got = m.model.tokenize(s.text, true).map(Number);
          assert.deepEqual(got, s.llama_cpp, `sentencepiece's tokens of ${JSON.stringify(s.text)}`);
          const boundary = SPACE_PREFIX[c] && !LEGACY.has(c) && (s.text.startsWith(' ') || JSON.stringify(s.llama_cpp) !== JSON.stringify(s.ids));
          if (!boundary) assert.deepEqual(got, s.hf, `transformers' tokens of ${JSON.stringify(s.text)}`);
          else differ += Number(JSON.stringify(s.hf) !== JSON.stringify(got));
        }
        t.diagnostic(`texts where transformers adds no second space prefix: ${differ}`);
        const bytes = r.prompts.flatMap((p) => p.plain_ids).filter((id) => md.tokenizer.ggml.token_type[id] === 6);
        assert.ok(bytes.length >= 4, 'the texts exercise byte fallback');
        let max = 0;
        for (const p of r.prompts) {
          const rows = await m.logps(p.ids);
          rows.forEach((row, i) =>
            p.logps[i].forEach((want, tok) => {
              if (want >= -20) max = Math.max(max, Math.abs((row.get(tok) ?? -Infinity) - want));
            }),
          );
        }
        t.diagnostic(`max |Δ log p| ${max.toExponential(2)}`);
        assert.ok(max <= TOL[c], `max |Δ log p| ${max}`);
        assert.deepEqual(await m.greedy(r.greedy.prompt, r.greedy.tokens.length), r.greedy.tokens);
        assert.equal(md.tokenizer.ggml.add_bos_token, r.prompts[0].ids.length > r.prompts[0].plain_ids.length);
        assert.equal(md.tokenizer.chat_template, r.chat?.template);
        assert.equal(await renderFromGguf(md.tokenizer.chat_template ?? '', md.tokenizer.ggml, r.chat!.messages), r.chat!.text);
      } finally {
        await m.dispose();
      }
    });
  }
});
