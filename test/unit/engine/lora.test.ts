// LoRA in the embedded engine (src/engine/model/lora.ts): the adapters' gradients against central
// differences, the reference (adapters off) equal to the base model exactly, B = 0 making the first
// step's policy the reference (loss ln 2), training that moves the adapters only with a flat tensor
// count, the adapter folder reloading as the same model, the merged model equal to base + adapter,
// resume from a LoRA checkpoint equal to the uninterrupted run, and the memory preflight's LoRA terms.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GPT2_SMALL, tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { resumeRun, testRun } from '../helpers/runs';
import { loadModel, readModelWeights } from '../../../src/engine/model/checkpoint';
import { CausalLM } from '../../../src/engine/model/transformer';
import { LoraAdapters, loraKeyA, loraSettingsOf, targetedModules } from '../../../src/engine/model/lora';
import { collate } from '../../../src/engine/data/batch';
import { batchTensors, computeSequenceLogps, sequenceLogps } from '../../../src/engine/dpo/logps';
import { readSafetensors } from '../../../src/engine/model/safetensors';
import { estimateTrainingMemory, preflightRefusal } from '../../../src/engine/train/memory-plan';
import { resolveConfig } from '../../../src/protocol';

const root = tempDir('lora');
const batch = collate(
  [
    { promptIds: [1, 2, 3, 4], responseIds: [5, 6, 7, 8, 9] },
    { promptIds: [7, 8], responseIds: [9, 10, 11] },
  ],
  0,
);
const rowWeights = [0.8, -1.1]; // rows weighted differently, so a row mix-up changes the gradient

const FAMILIES = {
  gpt2: { family: 'gpt2' as const, layers: 2, dModel: 16, heads: 2, maxPositions: 32, seed: 7 },
  llama: { family: 'llama' as const, layers: 2, dModel: 16, heads: 2, kvHeads: 1, maxPositions: 32, seed: 7 },
};

/** A frozen tiny base with adapters on every projection, B drawn at random (not PEFT's zeros) so A's gradient is not zero. */
function adapted(name: keyof typeof FAMILIES, scaleWeights = 4): CausalLM {
  const dir = path.join(root, `base-${name}`);
  if (!fs.existsSync(dir)) tinyModel(dir, FAMILIES[name]);
  const { config, weights } = readModelWeights(dir);
  for (const [n, w] of weights) if (!/norm|ln_/.test(n)) w.data.forEach((v, i) => (w.data[i] = v * scaleWeights));
  const model = new CausalLM(config, weights, false);
  const lora = { r: 3, alpha: 6, dropout: 0, targetModules: 'all-linear' as const };
  model.attachLora(new LoraAdapters(lora, targetedModules(config, 'all-linear'), { seed: 11 }));
  let k = 0;
  for (const [key, v] of model.adapters!.variables)
    if (key.includes('lora_B')) v.assign(tf.tidy(() => tf.mul(tf.sin(tf.add(tf.range(0, v.size), k++)), 0.3).reshape(v.shape)));
  return model;
}

function loss(model: CausalLM): tf.Scalar {
  const { ids, mask } = batchTensors(batch);
  return tf.sum(tf.mul(sequenceLogps(model, ids, mask), tf.tensor1d(rowWeights)));
}

/** Directions over all adapter tensors, with entries in [-1, 1]; `only` keeps A's or B's. */
function direction(model: CausalLM, seed: number, only?: 'lora_A' | 'lora_B'): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let s = seed;
  for (const [key, v] of model.adapters!.variables) {
    const d = new Float32Array(v.size);
    if (!only || key.includes(only)) for (let i = 0; i < d.length; i++) d[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    out.set(key, d);
  }
  return out;
}

function shift(model: CausalLM, d: Map<string, Float32Array>, by: number): void {
  for (const [key, v] of model.adapters!.variables) v.assign(tf.tidy(() => tf.add(v, tf.mul(tf.tensor(d.get(key)!, v.shape), by))));
}

describe('LoRA adapters', () => {
  before(useTestBackend);

  for (const name of Object.keys(FAMILIES) as (keyof typeof FAMILIES)[]) {
    it(`${name}: the gradients of A and B equal central differences of the loss`, async () => {
      const model = adapted(name);
      const { value, grads } = tf.variableGrads(() => loss(model), model.trainableVariables());
      const g = new Map<string, Float32Array>();
      for (const [key, v] of model.adapters!.variables) g.set(key, (await grads[v.name].data()) as Float32Array);
      assert.equal(Object.keys(grads).length, model.adapters!.variables.size, 'gradients exist for the adapters only');
      tf.dispose([value, ...Object.values(grads)]);
      // Directional derivatives, central differences with Richardson's extrapolation (4·D(h/2) − D(h))/3,
      // which cancels the h² truncation term that dominates at float32-friendly steps (measured: 3-10%
      // at h = 1e-2 on these sharp tiny models, ~0.2% at 1e-3). Float32 rounding of a loss of O(10) is
      // ~1e-6, i.e. ~1e-3 absolute at h = 2e-3 against derivatives of O(1) and more; a wrong gradient
      // term (a missing scale, a transposed product) is off by far more than the 2e-3 tolerance.
      const h = 4e-3;
      const central = async (d: Map<string, Float32Array>, step: number) => {
        shift(model, d, step);
        const up = (await loss(model).data())[0];
        shift(model, d, -2 * step);
        const down = (await loss(model).data())[0];
        shift(model, d, step);
        return (up - down) / (2 * step);
      };
      for (const [i, only] of (['lora_A', 'lora_B', undefined] as const).entries()) {
        const d = direction(model, 17 + i, only);
        let analytic = 0;
        for (const [key, dv] of d) dv.forEach((x, j) => (analytic += x * g.get(key)![j]));
        const numeric = (4 * (await central(d, h / 2)) - (await central(d, h))) / 3;
        assert.ok(Math.abs(analytic) > 0.1, `${only ?? 'all'}: a direction the loss depends on (${analytic})`);
        assert.ok(Math.abs(numeric - analytic) <= 2e-3 * Math.abs(analytic), `${only ?? 'A and B'}: analytic ${analytic} vs central difference ${numeric}`);
      }
      model.dispose();
    });
  }

  it('recomputed blocks (gradient_checkpointing) give the same loss and gradients, for adapters and for full training, GPT-2 and Llama (rotary tables kept)', async () => {
    for (const [name, full] of [
      ['gpt2', false],
      ['gpt2', true],
      ['llama', false],
      ['llama', true],
    ] as const) {
      const model = adapted(name);
      // Full training also with sliding-window layers (Mistral-style), whose masks are kept separately.
      const windows = name === 'llama' && full ? { layerWindows: [3, 0] } : {};
      const trained = full ? new CausalLM({ ...model.config, ...windows }, await model.readWeights(), true) : model;
      const grads = async (recompute: boolean) => {
        trained.recomputeBlocks = recompute;
        const before = tf.memory().numTensors;
        const { value, grads: g } = tf.variableGrads(() => loss(trained), trained.trainableVariables());
        const out = [(await value.data())[0], ...(await Promise.all(Object.values(g).map(async (t) => Array.from(await t.data())))).flat()];
        tf.dispose([value, ...Object.values(g)]);
        assert.equal(tf.memory().numTensors, before, 'nothing left behind');
        return out;
      };
      const [plain, again] = [await grads(false), await grads(true)];
      assert.equal(plain.length, again.length);
      plain.forEach((v, i) =>
        assert.ok(Math.abs(v - again[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `${name} ${full ? 'full' : 'LoRA'} entry ${i}: ${v} vs ${again[i]}`),
      );
      model.dispose();
      if (full) trained.dispose();
    }
  });

  it('adapters off is the base model, exactly; with B = 0 (PEFT init) adapters on is too', async () => {
    const model = adapted('llama', 1);
    const { model: base } = loadModel(path.join(root, 'base-llama'), { trainable: false });
    const baseLogps = await computeSequenceLogps(base, batch);
    assert.deepEqual(await model.withoutAdapters(() => computeSequenceLogps(model, batch)), baseLogps);
    assert.notDeepEqual(await computeSequenceLogps(model, batch), baseLogps, 'B != 0 changes the policy');
    const fresh = loadModel(path.join(root, 'base-llama'), { trainable: false }).model;
    fresh.attachLora(
      new LoraAdapters({ r: 4, alpha: 16, dropout: 0, targetModules: ['q_proj', 'down_proj'] }, targetedModules(fresh.config, ['q_proj', 'down_proj']), {
        seed: 1,
      }),
    );
    assert.deepEqual(await computeSequenceLogps(fresh, batch), baseLogps);
    assert.equal(fresh.adapters!.modules.size, 4, 'q_proj and down_proj of 2 layers');
    [model, base, fresh].forEach((m) => m.dispose());
  });

  it("an unknown target module is refused by name, with the model's projections", () => {
    const config = readModelWeights(path.join(root, 'base-gpt2')).config;
    assert.throws(() => targetedModules(config, ['q_proj']), /"q_proj" names no projection of this GPT2LMHeadModel; its projections are c_attn, c_proj, c_fc/);
  });
});

describe('LoRA training runs', () => {
  before(useTestBackend);
  const lora = { lora_r: 4, lora_alpha: 8, learning_rate: 2e-2, eval_fraction: 0, logging_steps: 1 };

  it('first loss ln 2; only adapters in the optimizer state; tensor count flat; final/ is an adapter that reloads; merged = base + adapter', async () => {
    const run = await testRun(root, 'run-a', { ...lora, max_steps: 4, save_steps: 2, merge_lora: true });
    const train = run.metrics.filter((m) => m.loss !== undefined);
    assert.ok(Math.abs(train[0].loss - Math.log(2)) < 1e-6, `first loss ${train[0].loss}: B = 0 makes the policy the reference`);
    assert.ok(train[3].loss < train[0].loss - 0.01, 'the adapters learn');
    const counts = train.map((m) => m['memory/num_tensors']);
    assert.deepEqual(counts.slice(1), new Array(counts.length - 1).fill(counts[1]), `tensor count flat: ${counts}`);
    const ckpt = path.join(run.dir, 'checkpoints', 'step-2');
    const optimizerKeys = [...readSafetensors(path.join(ckpt, 'optimizer.safetensors')).tensors.keys()];
    assert.ok(
      optimizerKeys.length > 0 && optimizerKeys.every((k) => /^exp_avg(_sq)?\.base_model\.model\..*\.lora_[AB]\.weight$/.test(k)),
      'AdamW state for the adapters only',
    );
    const final = path.join(run.dir, 'final');
    assert.ok(!fs.existsSync(path.join(final, 'model.safetensors')) && fs.existsSync(path.join(final, 'adapter_model.safetensors')));
    // The base on disk is what the adapter-loaded model holds (training never wrote it), and the
    // adapter is trained (B moved off zero).
    const adapterModel = loadModel(final).model;
    const baseFile = readModelWeights(path.join(root, 'model')).weights;
    for (const [name, w] of await adapterModel.readWeights()) assert.deepEqual(w.data, baseFile.get(name)!.data, name);
    const merged = loadModel(path.join(final, 'merged')).model;
    const [viaAdapter, viaMerged] = [await computeSequenceLogps(adapterModel, batch), await computeSequenceLogps(merged, batch)];
    const baseModel = loadModel(path.join(root, 'model'), { trainable: false }).model;
    const viaBase = await computeSequenceLogps(baseModel, batch);
    viaAdapter.forEach((v, i) => assert.ok(Math.abs(v - viaMerged[i]) <= 1e-4 * Math.max(1, Math.abs(v)), `merged ${viaMerged[i]} vs base+adapter ${v}`));
    assert.ok(Math.abs(viaAdapter[0] - viaBase[0]) > 1e-3, 'the trained adapter changes the log-probs');
    [adapterModel, merged, baseModel].forEach((m) => m.dispose());
  });

  it("resume from a LoRA checkpoint gives the uninterrupted run's adapter", async () => {
    await testRun(root, 'run-b', { ...lora, max_steps: 4, lora_dropout: 0.1 });
    let steps = 0;
    await testRun(root, 'run-c', { ...lora, max_steps: 4, lora_dropout: 0.1 }, { shouldStop: () => ++steps === 2 });
    assert.ok(fs.existsSync(path.join(root, 'run-c', 'checkpoints', 'step-2', 'adapter_model.safetensors')));
    await resumeRun(path.join(root, 'run-c'));
    const read = (run: string) => fs.readFileSync(path.join(root, run, 'final', 'adapter_model.safetensors'));
    const initial = fs.readFileSync(path.join(root, 'run-c', 'checkpoints', 'step-2', 'adapter_model.safetensors'));
    assert.ok(!read('run-b').equals(initial), 'steps 3 and 4 moved the adapter');
    assert.ok(read('run-b').equals(read('run-c')), 'the resumed adapter equals the uninterrupted one, bit for bit (dropout masks included)');
  });
});

describe('LoRA settings and adapter folders', () => {
  it('reads lora_target_modules as a list, a comma-separated string (the CLI flag) or "all-linear"; lora_r 0 is off', () => {
    const c = { lora_r: 8, lora_alpha: 16, lora_dropout: 0.05 };
    assert.deepEqual(loraSettingsOf({ ...c, lora_target_modules: 'c_attn, c_fc' })?.targetModules, ['c_attn', 'c_fc']);
    assert.deepEqual(loraSettingsOf({ ...c, lora_target_modules: ['q_proj'] })?.targetModules, ['q_proj']);
    assert.equal(loraSettingsOf({ ...c, lora_target_modules: 'all-linear' })?.targetModules, 'all-linear');
    assert.equal(loraSettingsOf({ ...c, lora_r: 0, lora_target_modules: 'all-linear' }), undefined);
  });

  it('an adapter the engine cannot compute (DoRA) or whose base is missing is refused by field', () => {
    const dir = path.join(root, 'dora');
    fs.mkdirSync(dir, { recursive: true });
    const config = { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['c_attn'], base_model_name_or_path: path.join(root, 'model') };
    fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...config, use_dora: true }));
    assert.throws(() => loadModel(dir), /field "use_dora" is true; the embedded engine computes plain LoRA only/);
    fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...config, base_model_name_or_path: 'no-such-model' }));
    assert.throws(() => loadModel(dir), /field "base_model_name_or_path" is "no-such-model", which is not a model folder here/);
  });
});

describe('LoRA memory preflight', () => {
  const gpt2Small = GPT2_SMALL;
  const knobs = (fields: Record<string, unknown>) => resolveConfig({ model: 'm', data: 'd.jsonl', output_dir: 'o', batch_size: 1, ...fields });

  it('counts gradients and AdamW moments for the adapters only, and no second copy for the reference', () => {
    const full = estimateTrainingMemory(gpt2Small, undefined, knobs({}), 256);
    const withLora = estimateTrainingMemory(gpt2Small, undefined, knobs({ lora_r: 16 }), 256);
    const part = (e: typeof full, what: RegExp) => [...e.parts, ...e.outsideHeap].find((p) => what.test(p.what))?.bytes ?? 0;
    // r (in + out) per projection: c_attn 768+2304, attn.c_proj 768+768, c_fc 768+3072, mlp.c_proj 3072+768; 12 layers.
    const adapterParams = 16 * 12 * (768 + 2304 + 768 + 768 + 768 + 3072 + 3072 + 768);
    assert.equal(part(withLora, /^LoRA adapter AdamW/), 2 * 4 * adapterParams);
    assert.equal(part(withLora, /^LoRA adapter gradients/), 4 * adapterParams);
    assert.equal(part(withLora, /live reference/), 0);
    assert.ok(part(full, /live reference/) > 0);
    // On wasm the moments are outside the heap: LoRA saves gradients (4 bytes a parameter) and the
    // reference (8) from the heap, and the moments (8) from the process.
    assert.ok(full.total - withLora.total > 11 * 124e6, `LoRA saves gradients and the reference (${full.total} vs ${withLora.total})`);
    assert.ok(
      full.processTotal - withLora.processTotal > full.total - withLora.total + 2 * 4 * 120e6,
      `and the moments (${full.processTotal} vs ${withLora.processTotal})`,
    );
  });

  it('admits GPT-2-small LoRA at 512 x 2 pairs with recomputed blocks (measured to run at 3.10 GiB RSS), refuses it without', () => {
    const c = knobs({ lora_r: 16, lora_alpha: 32, batch_size: 2, gradient_checkpointing: true });
    const e = estimateTrainingMemory(gpt2Small, undefined, c, 512);
    assert.equal(preflightRefusal(e, c, 512), undefined);
    assert.ok(e.processTotal >= 3_251_424 * 1024, `the estimate (${e.processTotal}) is not below the measured peak RSS`);
    const without = knobs({ lora_r: 16, lora_alpha: 32, batch_size: 2 });
    const text = preflightRefusal(estimateTrainingMemory(gpt2Small, undefined, without, 512), without, 512);
    assert.match(text ?? '', /gradient_checkpointing: true/);
    assert.doesNotMatch(text ?? '', /precompute_ref_log_probs/, 'under LoRA the reference costs no weights, so precomputing saves nothing');
  });
});

// Keep the adapter key helper honest: PEFT's name for GPT-2's first c_attn A.
assert.equal(loraKeyA('transformer.h.0.attn.c_attn'), 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight');
