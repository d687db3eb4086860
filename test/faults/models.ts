// Generated broken and hostile model folders for the fault suite: configs, weights, tokenizers and
// chat templates. Each must end in a clear error that names the file at fault, within the limit: on
// the embedded engine its exact message, on the torch engine (other words) the file at fault.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTinyModel, TINY_MODEL_DEFAULTS } from '../../src/engine/model/tiny';
import { encodeSafetensors, readSafetensors, tensorToFloat32 } from '../../src/engine/model/safetensors';
import { DPO, Outcome, judgeError, runNode } from './harness';
import type { Fixture } from './inputs';
import { EngineUnderTest } from './engines';

type Edit = (dir: string) => void;
const TINY = { ...TINY_MODEL_DEFAULTS, layers: 1, dModel: 16, heads: 2, maxPositions: 32, seed: 1 };

const editJson =
  (file: string, edit: (j: Record<string, unknown>) => void): Edit =>
  (dir) => {
    const p = path.join(dir, file);
    const j = JSON.parse(fs.readFileSync(p, 'utf8'));
    edit(j);
    fs.writeFileSync(p, JSON.stringify(j));
  };

/** Rewrites model.safetensors with `change` applied to its tensors (names -> float data). */
const editWeights =
  (change: (t: Map<string, { shape: number[]; data: Float32Array }>) => void): Edit =>
  (dir) => {
    const file = path.join(dir, 'model.safetensors');
    const st = readSafetensors(file);
    const t = new Map([...st.tensors.keys()].map((n) => [n, tensorToFloat32(st, n)] as const));
    change(t);
    fs.writeFileSync(file, encodeSafetensors([...t].map(([name, v]) => ({ name, shape: v.shape, data: v.data }))));
  };

const editHeader =
  (edit: (h: Record<string, { data_offsets: number[]; shape: number[] }>) => void): Edit =>
  (dir) => {
    const file = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const h = JSON.parse(bytes.subarray(8, 8 + n).toString());
    edit(h);
    const header = Buffer.from(JSON.stringify(h));
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(file, Buffer.concat([out, header, bytes.subarray(8 + n)]));
  };

const template = (t: string) => editJson('tokenizer_config.json', (j) => (j.chat_template = t));

/** [name, edit, expected message (embedded engine), needs chat data, llama family, expected on torch (default: the file named first)] */
const CASES: [string, Edit, RegExp, boolean?, boolean?, RegExp?][] = [
  ['config.json missing', (d) => fs.rmSync(path.join(d, 'config.json')), /config\.json/],
  ['config.json not JSON', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"n_embd": '), /config\.json/],
  ['n_embd not divisible by n_head', editJson('config.json', (j) => (j.n_head = 3)), /config\.json.*n_head|config\.json.*divisible/],
  ['layer_norm_epsilon -1', editJson('config.json', (j) => (j.layer_norm_epsilon = -1)), /config\.json: field 'layer_norm_epsilon'/],
  ['layer_norm_epsilon 0', editJson('config.json', (j) => (j.layer_norm_epsilon = 0)), /config\.json: field 'layer_norm_epsilon'/],
  ['vocab_size 0', editJson('config.json', (j) => (j.vocab_size = 0)), /config\.json: field 'vocab_size'/],
  ['rope_theta 0', editJson('config.json', (j) => (j.rope_theta = 0)), /config\.json: field 'rope_theta'/, false, true],
  ['rms_norm_eps -1', editJson('config.json', (j) => (j.rms_norm_eps = -1)), /config\.json: field 'rms_norm_eps'/, false, true],
  [
    'a NaN weight',
    editWeights((t) => (t.get('transformer.h.0.attn.c_attn.weight')!.data[7] = NaN)),
    /model\.safetensors: tensor 'transformer\.h\.0\.attn\.c_attn\.weight' holds NaN/,
  ],
  [
    'an Inf weight',
    editWeights((t) => (t.get('transformer.wte.weight')!.data[0] = Infinity)),
    /model\.safetensors: tensor 'transformer\.wte\.weight' holds Infinity/,
  ],
  ['a missing tensor', editWeights((t) => t.delete('transformer.ln_f.bias')), /model\.safetensors: missing 1 tensor/],
  // Issue #25: the torch engine trained this (exit 0) with a randomly initialised second layer.
  [
    'config says 2 layers, weights hold 1',
    editJson('config.json', (j) => (j.n_layer = 2)),
    /model\.safetensors: missing \d+ tensor/,
    false,
    false,
    /model\.safetensors|config\.json/,
  ],
  [
    'shard index naming ../outside.safetensors',
    (d) => {
      const st = readSafetensors(path.join(d, 'model.safetensors'));
      const outside = path.join(d, '..', 'outside.safetensors');
      fs.renameSync(path.join(d, 'model.safetensors'), outside);
      const weightMap = Object.fromEntries([...st.tensors.keys()].map((n) => [n, '../outside.safetensors']));
      fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    },
    /model\.safetensors\.index\.json: bad shard name "\.\.\/outside\.safetensors"/,
    false,
    false,
    /model\.safetensors\.index\.json[\s\S]*outside\.safetensors/,
  ],
  ['a tensor of the wrong shape', editHeader((h) => (h['transformer.ln_f.bias'].shape = [4, 4])), /model\.safetensors: tensor 'transformer\.ln_f\.bias'/],
  [
    'overlapping tensor offsets',
    editHeader((h) => {
      const a = h['transformer.ln_f.bias'].data_offsets;
      const b = h['transformer.ln_f.weight'].data_offsets;
      h['transformer.ln_f.weight'].data_offsets = [a[0], a[0] + b[1] - b[0]];
    }),
    /model\.safetensors: tensors .* overlap/,
  ],
  [
    'truncated safetensors',
    (d) => {
      const f = path.join(d, 'model.safetensors');
      fs.truncateSync(f, fs.statSync(f).size - 100);
    },
    /model\.safetensors: .*truncated/,
  ],
  [
    'safetensors header length 2^60',
    (d) => {
      const f = path.join(d, 'model.safetensors');
      const b = fs.readFileSync(f);
      b.writeBigUInt64LE(1n << 60n, 0);
      fs.writeFileSync(f, b);
    },
    /model\.safetensors: corrupt safetensors header/,
  ],
  [
    'only pytorch_model.bin',
    (d) => {
      fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'pytorch_model.bin'));
    },
    /pytorch_model\.bin: .*refused/,
    false,
    false,
    // Named, and without PyTorch's own advice to load the pickle anyway.
    /^(?![\s\S]*weights_only=False)[\s\S]*pytorch_model\.bin/,
  ],
  ['tokenizer.json missing', (d) => fs.rmSync(path.join(d, 'tokenizer.json')), /tokenizer\.json: missing/],
  ['tokenizer.json not JSON', (d) => fs.writeFileSync(path.join(d, 'tokenizer.json'), '{'), /tokenizer\.json: invalid JSON/],
  [
    'tokenizer with an empty vocabulary',
    editJson('tokenizer.json', (j) => {
      (j.model as Record<string, unknown>).vocab = {};
      j.added_tokens = [];
    }),
    /tokenizer\.json: the vocabulary is empty/,
  ],
  [
    "vocab_size below the tokenizer's",
    (d) => {
      const big = path.join(d, '..', `${path.basename(d)}-big`);
      makeTinyModel(big, { ...TINY, words: ['yes'] });
      fs.copyFileSync(path.join(big, 'tokenizer.json'), path.join(d, 'tokenizer.json'));
    },
    /config\.json has vocab_size 259 but .*tokenizer\.json has 26\d tokens/,
  ],
  [
    'pre-tokenizer regex with catastrophic backtracking',
    editJson('tokenizer.json', (j) => (j.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false })),
    /tokenizer\.json did not finish within/,
  ],
  [
    'normalizer regex with catastrophic backtracking',
    editJson('tokenizer.json', (j) => (j.normalizer = { type: 'Replace', pattern: { Regex: '(a+)+$' }, content: 'x' })),
    /tokenizer\.json did not finish within/,
  ],
  ['template range(1000000000)', template('{% for i in range(1000000000) %}x{% endfor %}'), /tokenizer_config\.json: chat template: range\(\)/, true],
  [
    'template nested range loops',
    template('{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}'),
    /tokenizer_config\.json: chat template: range\(\)/,
    true,
  ],
  [
    'template nested loops over messages',
    template('{% for a in messages %}{% for i in range(90000) %}{% for b in messages %}{{ b.content }}{% endfor %}{% endfor %}{% endfor %}'),
    /tokenizer_config\.json(: chat template| did not finish within)/,
    true,
  ],
  [
    'template string doubling',
    template("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}"),
    /tokenizer_config\.json: chat template/,
    true,
  ],
  [
    'template raise_exception',
    template("{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"),
    /tokenizer_config\.json: chat template: Conversation roles must alternate/,
    true,
  ],
  ['template unknown filter', template('{{ messages|shuffle }}'), /tokenizer_config\.json: chat template: .*shuffle/, true],
  ['template does not parse', template('{% for m in messages %}'), /tokenizer_config\.json: chat template does not parse/, true],
  [
    'chat data, no chat template',
    editJson('tokenizer_config.json', (j) => delete j.chat_template),
    /tokenizer\.json: the tokenizer has no chat_template/,
    true,
    false,
    /tokenizer(_config)?\.json[\s\S]*chat.?template|chat.?template[\s\S]*tokenizer(_config)?\.json/,
  ],
];

/** The file a message must name: the first file name in the embedded engine's expected message. */
export function fileNamedBy(expected: RegExp): RegExp {
  const m = /[a-z_]+(\\\.[a-z]+)+/.exec(expected.source);
  if (!m) throw new Error(`no file name in ${expected}`);
  return new RegExp(m[0]);
}

export async function modelCases(f: Fixture, e: EngineUnderTest, run: (c: () => Promise<Outcome>) => Promise<void>): Promise<void> {
  const chat = path.join(f.root, 'chat.jsonl');
  const msg = (role: string, content: string) => [{ role, content }];
  fs.writeFileSync(
    chat,
    Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ prompt: msg('user', `Q${i}: yes? `.repeat(3)), chosen: msg('assistant', 'yes'), rejected: msg('assistant', 'no') }),
    ).join('\n') + '\n',
  );
  for (const [i, [name, edit, tfjsNames, needsChat, llama, torchNames]] of CASES.entries()) {
    const names = e.name === 'tfjs' ? tfjsNames : (torchNames ?? fileNamedBy(tfjsNames));
    const dir = path.join(f.root, 'models', e.name, `m${i}`);
    makeTinyModel(dir, { ...TINY, family: llama ? 'llama' : 'gpt2' });
    edit(dir);
    const args = [
      DPO,
      'train',
      '--model',
      dir,
      '--data',
      needsChat ? chat : f.data,
      '--out',
      path.join(f.root, 'runs', `model-${e.name}-${i}`),
      '--max-steps',
      '1',
      '--eval-fraction',
      '0',
      '--batch-size',
      '2',
      ...e.trainFlags,
    ];
    await run(async () => judgeError('model folders', name, await runNode(args, 90_000 * e.slow), names));
  }
}
