// The fused attention kernel (src/engine/kernels/attention.ts) against the tfjs ops it replaces:
// values and gradients of q, k and v to 1e-5 on ragged shapes, GQA, a KV-cache offset, sliding
// windows and Gemma 2's soft-capping; central finite differences on tiny cases; the tensor count
// flat; the fallback cases; and the committed wasm equal to what kernels/attention.ts compiles to.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../../helpers/fixtures';
import { PLAIN_CHILD, ROOT, itChecksBothBuilds } from './kernel-builds';
import { fusedAttention, fusedAttentionBuild, setFusedAttention } from '../../../../src/engine/kernels/attention';
import { WASM_BASE64, WASM_FMA_BASE64 } from '../../../../src/engine/kernels/attention-wasm';
import { Rng } from '../../../../src/engine/rng';
import { Case, inputs, maxDiff, random, valueAndGrads } from './attention-cases';
import { softcap } from '../../../../src/engine/model/ops';

/** The tfjs path of CausalLM.attend: soft-cap, additive -1e9 mask, softmax, products; output [B, T, H·hd]. */
function reference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number, window = 0, cap?: number): tf.Tensor3D {
  const [B, H, T, hd] = q.shape;
  const [, KV, Tk] = k.shape;
  const rep = H / KV;
  const past = Tk - T;
  const mask = new Float32Array(rep * T * Tk);
  for (let r = 0; r < rep; r++)
    for (let i = 0; i < T; i++) for (let j = 0; j < Tk; j++) if (j > past + i || (window > 0 && past + i - j >= window)) mask[(r * T + i) * Tk + j] = -1e9;
  const scores = tf.add(softcap(tf.mul(tf.matMul(tf.reshape(q, [B, KV, rep * T, hd]), k, false, true), scale), cap), tf.tensor2d(mask, [rep * T, Tk]));
  const out = tf.matMul(tf.softmax(scores, -1), v);
  return tf.reshape(tf.transpose(tf.reshape(out, [B, H, T, hd]), [0, 2, 1, 3]), [B, T, H * hd]);
}

describe('fused attention kernel', () => {
  before(async () => {
    await useTestBackend();
  });

  const cases: Case[] = [
    { B: 1, H: 1, KV: 1, T: 1, hd: 4 },
    { B: 2, H: 4, KV: 4, T: 37, hd: 16 }, // ragged: neither tile size divides 37
    { B: 1, H: 8, KV: 2, T: 100, hd: 64 }, // GQA, several tiles
    { B: 1, H: 2, KV: 1, T: 65, hd: 96 }, // Phi-3's head dim, one past a tile
    { B: 1, H: 4, KV: 2, T: 20, past: 50, hd: 8 }, // a KV cache in front
    { B: 2, H: 2, KV: 1, T: 150, hd: 12, window: 40 }, // a sliding window (Mistral, Gemma 3)
    { B: 1, H: 2, KV: 2, T: 70, hd: 256, window: 64 }, // Gemma's head dim
    // Gemma 2: soft-capped scores, with and without its sliding window; cap 3 saturates many scores
    // (q·k reaches ±8 here), cap 50 is Gemma 2's own and stays on tanh's polynomial side.
    { B: 2, H: 4, KV: 2, T: 45, hd: 16, softcap: 3 },
    { B: 1, H: 2, KV: 1, T: 80, hd: 32, window: 24, softcap: 3 },
    { B: 1, H: 2, KV: 1, T: 40, hd: 256, softcap: 50 },
  ];
  for (const c of cases) {
    it(`matches the tfjs ops in value and gradients: ${JSON.stringify(c)}`, () => {
      const { q, k, v, w } = inputs(c, c.T * 31 + c.hd);
      const scale = 1 / Math.sqrt(c.hd);
      const window = c.window ?? 0;
      // A larger scale for the capped cases, so the cap bites.
      const s = c.softcap === 3 ? 4 * scale : scale;
      const ours = valueAndGrads((a, b, d) => fusedAttention(a, b, d, { scale: s, window, softcap: c.softcap })!, q, k, v, w);
      const theirs = valueAndGrads((a, b, d) => reference(a, b, d, s, window, c.softcap), q, k, v, w);
      assert.deepEqual(ours.out.shape, [c.B, c.T, c.H * c.hd]);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
        const d = maxDiff(ours[key], theirs[key]);
        assert.ok(d < 1e-5, `${key} differs by ${d}`);
      }
      // The cap changes the result, so matching the capped reference is not matching the plain one.
      if (c.softcap)
        assert.ok(
          maxDiff(
            ours.out,
            tf.tidy(() => reference(q, k, v, s, window)),
          ) > 1e-3,
        );
      // The gradients are not trivially zero (a zero gradient would match a zero reference); with
      // a single key the softmax is constant and dk is rightly 0.
      for (const g of c.T + (c.past ?? 0) > 1 ? [theirs.dq, theirs.dk, theirs.dv] : [theirs.dv]) assert.ok(tf.max(tf.abs(g)).dataSync()[0] > 1e-2);
    });
  }

  for (const cap of [undefined, 1.5]) {
    it(`agrees with a central finite difference on a tiny case${cap ? ', soft-capped' : ''}`, () => {
      const c: Case = { B: 1, H: 2, KV: 1, T: 5, hd: 4 };
      const { q, k, v, w } = inputs(c, 7);
      const f = (a: tf.Tensor4D, b: tf.Tensor4D, d: tf.Tensor4D) => fusedAttention(a, b, d, { scale: 0.5, softcap: cap })!;
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D, d: tf.Tensor4D) => tf.tidy(() => tf.sum(tf.mul(f(a, b, d), w)).dataSync()[0]);
      const { dq, dk, dv } = valueAndGrads(f, q, k, v, w);
      const eps = 1e-2;
      const rng = new Rng(3);
      for (const [which, grad] of [
        [0, dq],
        [1, dk],
        [2, dv],
      ] as const) {
        const dir = random(rng, [q, k, v][which].shape);
        const shifted = (sign: number) => {
          const xs = [q, k, v].map((t, i) => (i === which ? tf.add(t, tf.mul(dir, sign * eps)) : t)) as tf.Tensor4D[];
          return loss(xs[0], xs[1], xs[2]);
        };
        const numeric = (shifted(1) - shifted(-1)) / (2 * eps);
        const analytic = tf.sum(tf.mul(grad, dir)).dataSync()[0];
        assert.ok(Math.abs(numeric - analytic) < 2e-3 * Math.max(1, Math.abs(analytic)), `input ${which}: ${numeric} vs ${analytic}`);
      }
    });
  }

  it('keeps the tensor count flat over repeated forward and backward passes', () => {
    const { q, k, v, w } = inputs({ B: 1, H: 2, KV: 1, T: 40, hd: 8 }, 1);
    const vars = [q, k, v].map((t) => tf.variable(t));
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(fusedAttention(vars[0] as tf.Tensor4D, vars[1] as tf.Tensor4D, vars[2] as tf.Tensor4D, { scale: 0.3 })!, w)) as tf.Scalar,
      );
      tf.dispose([value, grads]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
  });

  it('declines what it does not handle, so the caller keeps its tfjs ops', () => {
    const { q, k, v } = inputs({ B: 1, H: 2, KV: 1, T: 4, hd: 8 }, 2);
    assert.equal(fusedAttention(q, k, v, { scale: 1, softcap: 0 }), undefined); // a cap of 0 is no cap
    const odd = tf.zeros([1, 1, 4, 6]) as tf.Tensor4D; // head dim not a multiple of 4
    assert.equal(fusedAttention(odd, odd, odd, { scale: 1 }), undefined);
    setFusedAttention(false);
    try {
      assert.equal(fusedAttention(q, k, v, { scale: 1 }), undefined);
    } finally {
      setFusedAttention(undefined);
    }
    assert.ok(fusedAttention(q, k, v, { scale: 1 }));
  });

  itChecksBothBuilds({ what: 'the attention kernel', build: fusedAttentionBuild, modules: [WASM_BASE64, WASM_FMA_BASE64], file: __filename });

  it('is committed as what kernels/attention.ts compiles to', { skip: PLAIN_CHILD }, () => {
    // Exits 1 (and execFileSync throws) when src/engine/kernels/attention-wasm.ts is stale.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-kernels.mjs'), '--check'], { cwd: ROOT, stdio: 'pipe' });
  });
});
