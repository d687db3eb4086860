// The forward and backward pass of both families on the backend the tests run on (wasm by
// default): every weight gets a finite gradient, no kernel is missing, memory is flat.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { collate } from '../../../src/engine/data/batch';
import { batchTensors, sequenceLogps } from '../../../src/engine/dpo/logps';
import { gatherRows, logSumExpLast, matmul } from '../../../src/engine/model/ops';
import { CausalLM } from '../../../src/engine/model/transformer';

const root = tempDir('train-ops');
const batch = collate(
  [
    { promptIds: [1, 2, 3], responseIds: [4, 5, 6, 256] },
    { promptIds: [7, 8], responseIds: [9, 10, 9, 10, 256] },
  ],
  0,
);

/** The loss whose gradient is taken: minus the mean summed response log-prob. */
function lossOf(model: CausalLM) {
  return () => {
    const { ids, mask } = batchTensors(batch);
    return tf.neg(tf.mean(sequenceLogps(model, ids, mask))) as tf.Scalar;
  };
}

describe('forward and backward on the test backend', () => {
  before(useTestBackend);

  it('gatherRows: gradient scatter-adds duplicate ids (what tf.gather needs UnsortedSegmentSum for)', async () => {
    const table = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ids = tf.tensor1d([2, 0, 2], 'int32');
    const weights = tf.tensor2d([
      [1, 10],
      [100, 1000],
      [2, 20],
    ]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, ids), weights)))(table);
    assert.deepEqual(Array.from(await g.data()), [100, 1000, 0, 0, 3, 30]);
    tf.dispose([table, ids, weights, g]);
  });

  it('matmul and logSumExpLast: same values and gradients as tf.matMul and tf.logSumExp', async () => {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]) {
      const a = tf.randomNormal(ta ? [2, 5, 3] : [2, 3, 5], 0, 1, 'float32', 1);
      const b = tf.randomNormal(tb ? [2, 4, 5] : [2, 5, 4], 0, 1, 'float32', 2);
      const w = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 3);
      const f = (mm: typeof matmul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y, ta, tb), w));
      const [ga, gb] = tf.grads(f(matmul))([a, b]);
      const [wa, wb] = tf.grads(f(tf.matMul))([a, b]);
      const close = async (x: tf.Tensor, y: tf.Tensor) => assert.ok((await tf.max(tf.abs(tf.sub(x, y))).data())[0] < 1e-5, `ta=${ta} tb=${tb}`);
      await close(matmul(a, b, ta, tb), tf.matMul(a, b, ta, tb));
      await close(ga, wa);
      await close(gb, wb);
    }
    const x = tf.randomNormal([3, 7], 0, 3, 'float32', 4);
    const dy = tf.tensor1d([1, -2, 0.5]);
    await (async () => {
      const mine = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logSumExpLast(t as tf.Tensor2D), dy)))(x);
      const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.logSumExp(t, 1), dy)))(x);
      assert.ok((await tf.max(tf.abs(tf.sub(logSumExpLast(x as tf.Tensor2D), tf.logSumExp(x, 1)))).data())[0] < 1e-5);
      assert.ok((await tf.max(tf.abs(tf.sub(mine, ref))).data())[0] < 1e-5);
    })();
  });

  for (const fam of [
    { name: 'gpt2', opts: { family: 'gpt2' as const } },
    { name: 'llama with GQA and untied head', opts: { family: 'llama' as const, kvHeads: 2, untiedHead: true } },
    { name: 'qwen2 with q/k/v biases', opts: { family: 'llama' as const, kvHeads: 1, qkvBias: true } },
  ]) {
    it(`${fam.name}: every weight gets a finite gradient, tensor count flat over repeated passes`, async () => {
      const dir = tinyModel(path.join(root, fam.name.replace(/\W+/g, '-')), { ...fam.opts, layers: 2, dModel: 32, heads: 4, seed: 2 });
      const { model } = loadModel(dir);
      const counts: number[] = [];
      for (let step = 0; step < 6; step++) {
        const { value, grads } = tf.variableGrads(lossOf(model), model.trainableVariables());
        const names = [...model.weights.keys()];
        assert.equal(Object.keys(grads).length, names.length, 'a gradient for every weight');
        const norms = tf.tidy(() => tf.stack(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
        const sq = await norms.data();
        assert.ok(
          sq.every((v) => Number.isFinite(v)),
          'finite gradients',
        );
        // All weights matter (positions beyond the batch length and unused vocab rows are zero, but
        // every weight matrix has some non-zero gradient).
        assert.ok(sq.filter((v) => v > 0).length === sq.length, `${sq.filter((v) => v === 0).length} weights got an all-zero gradient`);
        assert.ok(Number.isFinite((await value.data())[0]));
        tf.dispose([value, norms, ...Object.values(grads)]);
        counts.push(tf.memory().numTensors);
      }
      // The first pass caches the causal mask for this length; after it the count must not move.
      counts.shift();
      assert.equal(new Set(counts).size, 1, `tensor count changed across passes: ${counts.join(', ')}`);
      model.dispose();
    });
  }

  it('analytic gradients agree with central finite differences (gpt2 and llama)', async () => {
    for (const family of ['gpt2', 'llama'] as const) {
      const dir = tinyModel(path.join(root, `fd-${family}`), { family, layers: 1, dModel: 16, heads: 2, seed: 4 });
      const { model } = loadModel(dir);
      const { grads } = tf.variableGrads(lossOf(model), model.trainableVariables());
      const byName = new Map([...model.weights].map(([n, v]) => [n, grads[v.name]]));
      const probes =
        family === 'gpt2'
          ? [
              ['transformer.h.0.attn.c_attn.weight', 5],
              ['transformer.h.0.mlp.c_fc.weight', 17],
              ['transformer.wte.weight', 4 * 16 + 3],
              ['transformer.wpe.weight', 2 * 16 + 1],
            ]
          : [
              ['model.layers.0.self_attn.q_proj.weight', 7],
              ['model.layers.0.mlp.gate_proj.weight', 11],
              ['model.embed_tokens.weight', 9 * 16 + 2],
              ['model.norm.weight', 3],
            ];
      for (const [name, index] of probes as [string, number][]) {
        const v = model.weights.get(name)!;
        const analytic = (await byName.get(name)!.data())[index];
        const original = await v.data();
        const at = async (delta: number) => {
          const copy = Float32Array.from(original);
          copy[index] += delta;
          v.assign(tf.tensor(copy, v.shape));
          const loss = tf.tidy(lossOf(model));
          const value = (await loss.data())[0];
          loss.dispose();
          return value;
        };
        const eps = 1e-2;
        const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        v.assign(tf.tensor(original, v.shape));
        assert.ok(Math.abs(analytic - numeric) <= 0.03 * Math.abs(numeric) + 2e-3, `${family} ${name}[${index}]: analytic ${analytic} vs numeric ${numeric}`);
      }
      tf.dispose(Object.values(grads));
      model.dispose();
    }
  });
});
