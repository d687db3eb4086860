import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { loadModel, readModelWeights, saveModel, saveWeights } from '../../../src/engine/model/checkpoint';
import { encodeSafetensors, readSafetensors } from '../../../src/engine/model/safetensors';
import { collate } from '../../../src/engine/data/batch';
import { computeSequenceLogps } from '../../../src/engine/dpo/logps';

const root = tempDir('checkpoint');

function copyDir(src: string, dst: string): string {
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void) {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
}

/** Rewrites model.safetensors with the tensors `edit` returns (F32 unless `raw` bytes are given). */
function editWeights(dir: string, edit: (t: { name: string; shape: number[]; data: Float32Array }[]) => typeof t) {
  const { weights } = readModelWeights(dir);
  let t = [...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  t = edit(t);
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(t));
}

/** A safetensors file in F16 or BF16, written by hand so the loader's conversion is what is tested. */
function writeHalf(file: string, tensors: { name: string; shape: number[]; data: Float32Array }[], dtype: 'F16' | 'BF16') {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length * 2] };
    offset += t.data.length * 2;
  }
  const json = Buffer.from(JSON.stringify(header));
  const data = Buffer.alloc(offset);
  let pos = 0;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (const t of tensors) {
    for (const v of t.data) {
      f32[0] = v;
      // BF16 by truncation; F16 values here are exactly representable multiples of 1/1024 in [-2, 2].
      const bits = dtype === 'BF16' ? u32[0] >>> 16 : toHalfBits(v);
      data.writeUInt16LE(bits, pos);
      pos += 2;
    }
  }
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
}

function toHalfBits(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const exp = Math.floor(Math.log2(a));
  if (exp < -14) return sign | Math.round(a / 2 ** -24);
  return sign | ((exp + 15) << 10) | Math.round((a / 2 ** exp - 1) * 1024);
}

describe('model checkpoints', () => {
  before(useTestBackend);
  const base = path.join(root, 'base');
  before(() => tinyModel(base, { family: 'llama', kvHeads: 2, untiedHead: true, seed: 11 }));

  it('save -> load round trip is bit-identical (weights, config, tokenizer files)', async () => {
    const { model } = loadModel(base);
    const out = path.join(root, 'saved');
    await saveModel(model, out, { tokenizerFrom: base });
    model.dispose();
    assert.deepEqual(fs.readFileSync(path.join(out, 'model.safetensors')), fs.readFileSync(path.join(base, 'model.safetensors')));
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      assert.deepEqual(fs.readFileSync(path.join(out, f)), fs.readFileSync(path.join(base, f)), f);
    }
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(cfg.architectures[0], 'LlamaForCausalLM');
    assert.equal(cfg.num_key_value_heads, 2);
    assert.equal(cfg.torch_dtype, 'float32');
  });

  it('sharded save writes HF shard names and an index; sharded load gives the same log-probs', async () => {
    const { model } = loadModel(base, { trainable: false });
    const out = path.join(root, 'sharded');
    await saveModel(model, out, { tokenizerFrom: base, maxShardBytes: 100_000 });
    const files = fs
      .readdirSync(out)
      .filter((f) => f.endsWith('.safetensors'))
      .sort();
    assert.ok(files.length >= 3, `expected several shards, got ${files}`);
    assert.match(files[0], /^model-00001-of-000\d\d\.safetensors$/);
    assert.ok(!fs.existsSync(path.join(out, 'model.safetensors')));
    const index = JSON.parse(fs.readFileSync(path.join(out, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(Object.keys(index.weight_map).length, model.weights.size);
    assert.equal(index.metadata.total_size, model.numParameters() * 4);
    const batch = collate([{ promptIds: [5, 6, 7], responseIds: [8, 9, 256] }], 0);
    const { model: reloaded } = loadModel(out, { trainable: false });
    assert.deepEqual(await computeSequenceLogps(reloaded, batch), await computeSequenceLogps(model, batch));
    model.dispose();
    reloaded.dispose();
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`loads ${dtype} weights, computing in float32`, async () => {
      const dir = copyDir(base, path.join(root, dtype));
      const { weights } = readModelWeights(dir);
      // Round values so that they are exact in both half formats.
      const tensors = [...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data.map((v) => Math.round(v * 64) / 64) }));
      writeHalf(path.join(dir, 'model.safetensors'), tensors, dtype);
      const loaded = readModelWeights(dir);
      assert.equal(loaded.dtypes.get('model.norm.weight'), dtype);
      for (const t of tensors) assert.deepEqual(Array.from(loaded.weights.get(t.name)!.data), Array.from(t.data), t.name);
    });
  }

  it('GPT-2 checkpoints without the "transformer." prefix and with attention buffers load', () => {
    const dir = tinyModel(path.join(root, 'gpt2-openai'), { family: 'gpt2', seed: 1 });
    editWeights(dir, (t) => [
      ...t.map((x) => ({ ...x, name: x.name.replace(/^transformer\./, '') })),
      { name: 'h.0.attn.bias', shape: [1], data: new Float32Array([1]) },
    ]);
    const { weights, warnings } = readModelWeights(dir);
    assert.ok(weights.has('transformer.h.0.attn.c_attn.weight'));
    assert.deepEqual(warnings, []);
  });

  const bad: [string, (dir: string) => void, RegExp][] = [
    [
      'an unknown architecture',
      (d) =>
        editConfig(d, (c) => {
          c.architectures = ['BertForMaskedLM'];
          c.model_type = 'bert';
        }),
      /config\.json: unsupported architecture "BertForMaskedLM"; supported: GPT2LMHeadModel, LlamaForCausalLM/,
    ],
    [
      'pickle .bin weights only',
      (d) => {
        fs.rmSync(path.join(d, 'model.safetensors'));
        fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'x');
      },
      /pytorch_model\.bin: only non-safetensors weights found; pickle\/\.bin weights are refused because loading them can execute code/,
    ],
    [
      'a missing tensor',
      (d) => editWeights(d, (t) => t.filter((x) => x.name !== 'model.layers.1.mlp.up_proj.weight')),
      /model\.safetensors: missing 1 tensor\(s\) that LlamaForCausalLM needs: 'model\.layers\.1\.mlp\.up_proj\.weight'/,
    ],
    [
      'a mis-shaped tensor',
      (d) => editWeights(d, (t) => t.map((x) => (x.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...x, shape: [x.shape[1], x.shape[0]] } : x))),
      /model\.safetensors: tensor 'model\.layers\.0\.self_attn\.k_proj\.weight' has shape \[64,32\] but LlamaForCausalLM with this config\.json needs \[32,64\]/,
    ],
    [
      'a corrupt header',
      (d) => {
        const f = path.join(d, 'model.safetensors');
        const b = fs.readFileSync(f);
        b.write('{{{{', 8);
        fs.writeFileSync(f, b);
      },
      /model\.safetensors: corrupt safetensors header: not JSON/,
    ],
    [
      'a missing shard',
      (d) => {
        fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors' } }));
      },
      /model-00001-of-00002\.safetensors: shard listed in model\.safetensors\.index\.json is missing/,
    ],
    ['no config.json', (d) => fs.rmSync(path.join(d, 'config.json')), /config\.json: missing; a model folder needs the Hugging Face config\.json/],
  ];
  for (const [what, breakIt, message] of bad) {
    it(`refuses ${what} with a message naming the file and tensor`, () => {
      const dir = copyDir(base, path.join(root, what.replace(/\W+/g, '-')));
      breakIt(dir);
      assert.throws(() => readModelWeights(dir), message);
    });
  }

  it('saveWeights leaves no stale single file when switching to shards', () => {
    const dir = copyDir(base, path.join(root, 'switch'));
    const loaded = readModelWeights(dir);
    saveWeights(dir, loaded.config, loaded.weights, { maxShardBytes: 200_000 });
    assert.ok(!fs.existsSync(path.join(dir, 'model.safetensors')));
    assert.equal(readModelWeights(dir).weights.size, loaded.weights.size);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    const first = Object.values(index.weight_map as Record<string, string>).sort()[0];
    assert.ok(readSafetensors(path.join(dir, first)).tensors.size > 0);
  });
});
