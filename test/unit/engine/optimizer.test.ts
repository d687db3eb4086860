import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/fixtures';
import { AdamW, clipFactor, isDecayed } from '../../../src/engine/train/optimizer';
import { learningRateAt, warmupSteps } from '../../../src/engine/train/schedule';

describe('optimizer and schedule', () => {
  before(useTestBackend);

  it('AdamW matches PyTorch semantics over two steps (decoupled decay, bias correction)', async () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const weights = new Map([['h.0.mlp.weight', w]]);
    const opt = new AdamW(weights, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 });
    const lr = 0.01;
    // By hand, in float64: the same recurrences torch.optim.AdamW applies.
    let p = [1, -2];
    let m = [0, 0];
    let v = [0, 0];
    const gs = [
      [0.5, -1],
      [0.25, 3],
    ];
    for (let t = 1; t <= 2; t++) {
      const g = gs[t - 1];
      opt.apply(new Map([['h.0.mlp.weight', tf.tensor1d(g)]]), lr);
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] ** 2);
      p = p.map((pi, i) => pi * (1 - lr * 0.1) - (lr * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8));
    }
    const got = Array.from(await w.data());
    got.forEach((x, i) => assert.ok(Math.abs(x - p[i]) < 1e-6, `${x} vs ${p[i]}`));
    const state = await opt.exportState();
    assert.deepEqual([...state.keys()], ['exp_avg.h.0.mlp.weight', 'exp_avg_sq.h.0.mlp.weight']);
    opt.dispose();
  });

  it('no weight decay on biases and norm gains', () => {
    assert.equal(isDecayed('model.layers.0.mlp.up_proj.weight'), true);
    assert.equal(isDecayed('transformer.h.0.attn.c_attn.bias'), false);
    assert.equal(isDecayed('transformer.h.0.ln_1.weight'), false);
    assert.equal(isDecayed('model.norm.weight'), false);
    assert.equal(isDecayed('model.layers.3.input_layernorm.weight'), false);
  });

  it('clipping factor scales the global norm down to the limit, never up', () => {
    assert.equal(clipFactor(0.5, 1), 1);
    assert.ok(Math.abs(clipFactor(4, 1) * 4 - 1) < 1e-6);
    assert.equal(clipFactor(4, 0), 1);
  });

  it('warm-up then linear, cosine or constant (transformers get_*_schedule_with_warmup)', () => {
    const s = { peak: 1, warmupSteps: 4, totalSteps: 14 };
    assert.equal(warmupSteps(100, 0, 0.1), 10);
    assert.equal(warmupSteps(100, 7, 0.1), 7);
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => learningRateAt(t, { ...s, type: 'linear' })),
      [0, 0.25, 0.5, 0.75],
    );
    assert.equal(learningRateAt(4, { ...s, type: 'linear' }), 1);
    assert.equal(learningRateAt(9, { ...s, type: 'linear' }), 0.5);
    assert.ok(Math.abs(learningRateAt(9, { ...s, type: 'cosine' }) - 0.5) < 1e-12);
    assert.ok(Math.abs(learningRateAt(6, { ...s, type: 'cosine' }) - 0.5 * (1 + Math.cos(Math.PI * 0.2))) < 1e-12);
    assert.equal(learningRateAt(13, { ...s, type: 'constant' }), 1);
  });
});
