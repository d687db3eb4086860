import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { readModelWeights } from '../../../src/engine/model/checkpoint';

const root = tempDir('tiny');
const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f));

describe('make-tiny-model', () => {
  for (const family of ['gpt2', 'llama'] as const) {
    it(`${family}: same seed gives the same bytes, another seed other weights`, () => {
      const a = tinyModel(path.join(root, `${family}-a`), { family, seed: 7 });
      const b = tinyModel(path.join(root, `${family}-b`), { family, seed: 7 });
      const c = tinyModel(path.join(root, `${family}-c`), { family, seed: 8 });
      for (const f of fs.readdirSync(a)) assert.deepEqual(read(a, f), read(b, f), f);
      assert.notDeepEqual(read(a, 'model.safetensors'), read(c, 'model.safetensors'));
    });
  }

  it('initialises as transformers does: N(0, 0.02), norms 1, biases 0, scaled residual projections', () => {
    const dir = tinyModel(path.join(root, 'init'), { family: 'gpt2', layers: 4, dModel: 128, heads: 4 });
    const { weights, config } = readModelWeights(dir);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    assert.ok(Math.abs(std(weights.get('transformer.h.0.mlp.c_fc.weight')!.data) - 0.02) < 0.001);
    assert.ok(Math.abs(std(weights.get('transformer.h.0.mlp.c_proj.weight')!.data) - 0.02 / Math.sqrt(8)) < 0.0005);
    assert.ok(weights.get('transformer.ln_f.weight')!.data.every((v) => v === 1));
    assert.ok(weights.get('transformer.h.1.attn.c_attn.bias')!.data.every((v) => v === 0));
    assert.equal(config.vocabSize, 259);
  });

  it('llama options: GQA heads, untied head, q/k/v biases (Qwen2 layout), padded vocab', () => {
    const dir = tinyModel(path.join(root, 'qwen'), { family: 'llama', heads: 4, kvHeads: 2, untiedHead: true, qkvBias: true, vocab: 320 });
    const { config, weights } = readModelWeights(dir);
    assert.equal(config.architecture, 'Qwen2ForCausalLM');
    assert.equal(config.numKvHeads, 2);
    assert.ok(weights.has('lm_head.weight'));
    assert.ok(weights.has('model.layers.0.self_attn.q_proj.bias'));
    assert.deepEqual(weights.get('model.embed_tokens.weight')!.shape, [320, 64]);
  });

  it('refuses options that do not fit', () => {
    assert.throws(() => tinyModel(path.join(root, 'x1'), { dModel: 30, heads: 4 }), /--d-model 30 must be divisible by --heads 4/);
    assert.throws(() => tinyModel(path.join(root, 'x2'), { family: 'gpt2', kvHeads: 2 }), /--kv-heads applies to the llama family only/);
    assert.throws(() => tinyModel(path.join(root, 'x3'), { vocab: 100 }), /--vocab 100 is smaller than the byte-level tokenizer's 259 tokens/);
  });
});
