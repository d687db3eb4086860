// The WGSL fused attention (src/engine/kernels/attention-webgpu.ts) against the tfjs ops it
// replaces, both on the webgpu backend: values and gradients of q, k and v to 1e-5 on ragged
// shapes, GQA, a KV-cache offset and a sliding window, the tensor count flat, and the switch-off.
// Skips, saying why, where Dawn finds no adapter (here it runs on the software one: small shapes).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../../src/engine/backend';
import { activeWebGpuAdapter, releaseWebGpu } from '../../../../src/engine/webgpu';
import { fusedAttention, fusedAttentionApplies, setFusedAttention } from '../../../../src/engine/kernels/attention';
import { Rng } from '../../../../src/engine/rng';

interface Case {
  B: number;
  H: number;
  KV: number;
  T: number;
  past?: number;
  hd: number;
  window?: number;
}

/** The tfjs path of CausalLM.attend: additive -1e9 mask, softmax, products; output [B, T, H·hd]. */
function reference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number, window = 0): tf.Tensor3D {
  const [B, H, T, hd] = q.shape;
  const [, KV, Tk] = k.shape;
  const rep = H / KV;
  const past = Tk - T;
  const mask = new Float32Array(rep * T * Tk);
  for (let r = 0; r < rep; r++)
    for (let i = 0; i < T; i++) for (let j = 0; j < Tk; j++) if (j > past + i || (window > 0 && past + i - j >= window)) mask[(r * T + i) * Tk + j] = -1e9;
  const scores = tf.add(tf.mul(tf.matMul(tf.reshape(q, [B, KV, rep * T, hd]), k, false, true), scale), tf.tensor2d(mask, [rep * T, Tk]));
  const out = tf.matMul(tf.softmax(scores, -1), v);
  return tf.reshape(tf.transpose(tf.reshape(out, [B, H, T, hd]), [0, 2, 1, 3]), [B, T, H * hd]);
}

function random(rng: Rng, shape: number[], spread = 1): tf.Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (rng.next() * 2 - 1) * spread;
  return tf.tensor(data, shape);
}

function inputs(c: Case, seed: number) {
  const rng = new Rng(seed);
  const Tk = c.T + (c.past ?? 0);
  // Spread 2 makes the softmax peaked enough that a wrong mask or max shows.
  const q = random(rng, [c.B, c.H, c.T, c.hd], 2) as tf.Tensor4D;
  const k = random(rng, [c.B, c.KV, Tk, c.hd], 2) as tf.Tensor4D;
  const v = random(rng, [c.B, c.KV, Tk, c.hd]) as tf.Tensor4D;
  const w = random(rng, [c.B, c.T, c.H * c.hd]); // a loss that weights each output differently
  return { q, k, v, w };
}

/** A scalar read back (webgpu in Node has no synchronous read). */
async function scalar(f: () => tf.Tensor): Promise<number> {
  const t = tf.tidy(f);
  const value = (await t.data())[0];
  t.dispose();
  return value;
}

function valueAndGrads(f: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor3D, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, w: tf.Tensor) {
  const out = tf.tidy(() => f(q, k, v));
  const [vq, vk, vv] = [q, k, v].map((t) => tf.variable(t)) as unknown as tf.Tensor4D[];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(vq, vk, vv), w)) as tf.Scalar);
  const byName = (t: tf.Tensor) => grads[(t as unknown as tf.Variable).name];
  const result = { out, dq: byName(vq), dk: byName(vk), dv: byName(vv) };
  tf.dispose([vq, vk, vv, value]);
  return result;
}

describe('fused attention on webgpu (WGSL kernels)', () => {
  let unavailable: string | undefined;
  before(async () => {
    try {
      const report = await selectBackend('webgpu');
      process.stdout.write(`# webgpu adapter: ${report.adapter?.description || report.adapter?.device} (software: ${report.adapter?.software})\n`);
    } catch (err) {
      unavailable = `no WebGPU adapter: ${(err as Error).message}`;
    }
  });
  after(() => releaseWebGpu());

  const cases: Case[] = [
    { B: 1, H: 1, KV: 1, T: 1, hd: 4 },
    { B: 2, H: 2, KV: 2, T: 37, hd: 16 }, // ragged: no tile size divides 37
    { B: 1, H: 4, KV: 2, T: 70, hd: 64 }, // GQA, two query tiles, several key tiles
    { B: 1, H: 2, KV: 1, T: 20, past: 50, hd: 8 }, // a KV cache in front
    { B: 1, H: 2, KV: 1, T: 90, hd: 12, window: 24 }, // a sliding window (Mistral, Gemma 3)
    { B: 1, H: 1, KV: 1, T: 9, hd: 96 }, // Phi-3's head dim: a tile of 20 rows
    { B: 1, H: 2, KV: 2, T: 30, past: 5, hd: 256, window: 16 }, // Gemma's head dim (7-row tiles), cache and window
    { B: 1, H: 1, KV: 1, T: 500, hd: 64 }, // long: a scalar build of the kernels went wrong here on llvmpipe
  ];
  for (const c of cases) {
    it(`matches the tfjs ops in value and gradients: ${JSON.stringify(c)}`, async (t) => {
      if (unavailable) return t.skip(unavailable);
      const { q, k, v, w } = inputs(c, c.T * 31 + c.hd);
      const scale = 1 / Math.sqrt(c.hd);
      const window = c.window ?? 0;
      assert.ok(fusedAttentionApplies(q, k, { scale, window }), 'the WGSL op takes this shape');
      const ours = valueAndGrads((a, b, d) => fusedAttention(a, b, d, { scale, window })!, q, k, v, w);
      const theirs = valueAndGrads((a, b, d) => reference(a, b, d, scale, window), q, k, v, w);
      assert.deepEqual(ours.out.shape, [c.B, c.T, c.H * c.hd]);
      for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
        const d = await scalar(() => tf.max(tf.abs(tf.sub(ours[key], theirs[key]))));
        assert.ok(d < 1e-5, `${key} differs by ${d}`);
      }
      // Not trivially zero (a zero gradient would match a zero reference); with a single key the
      // softmax is constant and dq, dk are rightly 0.
      for (const g of c.T + (c.past ?? 0) > 1 ? [theirs.dq, theirs.dk, theirs.dv] : [theirs.dv]) assert.ok((await scalar(() => tf.max(tf.abs(g)))) > 1e-2);
      tf.dispose([q, k, v, w, ...Object.values(ours), ...Object.values(theirs)]);
    });
  }

  it('keeps the tensor count flat over repeated forward and backward passes', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const { q, k, v, w } = inputs({ B: 1, H: 2, KV: 1, T: 40, hd: 8 }, 1);
    const vars = [q, k, v].map((x) => tf.variable(x));
    const step = async () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(fusedAttention(vars[0] as tf.Tensor4D, vars[1] as tf.Tensor4D, vars[2] as tf.Tensor4D, { scale: 0.3 })!, w)) as tf.Scalar,
      );
      for (const g of Object.values(grads)) await g.data();
      tf.dispose([value, grads]);
    };
    await step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await step();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([q, k, v, w, ...vars]);
  });

  it('declines what it does not handle, and DPO_FUSED_ATTENTION=0 (setFusedAttention(false)) turns it off', (t) => {
    if (unavailable) return t.skip(unavailable);
    const { q, k, v } = inputs({ B: 1, H: 2, KV: 1, T: 4, hd: 8 }, 2);
    assert.equal(fusedAttention(q, k, v, { scale: 1, softcap: 50 }), undefined); // Gemma 2
    const wide = tf.zeros([1, 1, 2, 264]) as tf.Tensor4D; // past the kernels' largest head dim
    assert.equal(fusedAttention(wide, wide, wide, { scale: 1 }), undefined);
    const odd = tf.zeros([1, 1, 2, 6]) as tf.Tensor4D; // the kernels read vec4s
    assert.equal(fusedAttention(odd, odd, odd, { scale: 1 }), undefined);
    // llvmpipe ends an invocation after 65535 loop iterations, silently (measured: Gemma's head dim
    // at 600 tokens gave wrong rows from 448 on): a software adapter keeps tfjs's ops there.
    const long = tf.zeros([1, 1, 600, 256]) as tf.Tensor4D;
    assert.equal(fusedAttentionApplies(long, long, { scale: 1 }), !activeWebGpuAdapter()!.software);
    tf.dispose([odd, long]);
    setFusedAttention(false);
    try {
      assert.equal(fusedAttention(q, k, v, { scale: 1 }), undefined);
    } finally {
      setFusedAttention(undefined);
    }
    const out = fusedAttention(q, k, v, { scale: 1 });
    assert.ok(out);
    tf.dispose([q, k, v, wide, out]);
  });
});
