// Our element-wise kernel (src/engine/kernels/elementwise.ts, kernels/elementwise.ts) through
// ops.ts's geluNew / layerNorm / rmsNorm: values and gradients against the tfjs ops it replaces
// (DPO_FUSED_ELEMENTWISE off) to 1e-5 of the reference's scale, and against float64 references
// with finite-difference gradients; ragged sizes (1 row, width 1, widths off 4), GELU at |x| up to
// 1e4, eps where the variance is 0, the tensor count flat, the switch, and the plain SIMD build.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../../helpers/fixtures';
import { assertTensorCountFlat } from '../../helpers/tensor-count';
import { itChecksBothBuilds } from './kernel-builds';
import { elementwiseBuild, fusedElementwiseApplies, setFusedElementwise } from '../../../../src/engine/kernels/elementwise';
import { WASM_BASE64, WASM_FMA_BASE64 } from '../../../../src/engine/kernels/elementwise-wasm';
import { geluNew, layerNorm, rmsNorm } from '../../../../src/engine/model/ops';
import { Rng } from '../../../../src/engine/rng';

function normal(rng: Rng, n: number, scale: number, shift = 0): Float32Array {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = shift + scale * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return data;
}

/** max |a − b| / max(1, max |b|): relative to the reference's scale, as gemm.test.ts measures. */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1, tf.max(tf.abs(b)).dataSync()[0]));
}

function finite(t: tf.Tensor): boolean {
  return Array.from(t.dataSync()).every(Number.isFinite);
}

type Layer = (...inputs: tf.Tensor[]) => tf.Tensor;

/** The layer's value and the gradients of Σ layer(inputs)·r for every input, with our kernel on or off. */
function run(layer: Layer, inputs: tf.Tensor[], r: tf.Tensor, fused: boolean): { value: tf.Tensor; grads: tf.Tensor[] } {
  setFusedElementwise(fused);
  try {
    assert.equal(fusedElementwiseApplies(inputs[0], inputs.length > 1 ? inputs[1].shape[0] : undefined), fused);
    const value = layer(...inputs);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(layer(...xs), r)))(inputs);
    return { value, grads };
  } finally {
    setFusedElementwise(undefined);
  }
}

/** Ours against tfjs's ops: value and every gradient within 1e-5 of the reference's scale, all finite. */
function assertMatches(layer: Layer, inputs: tf.Tensor[], rng: Rng, tol = 1e-5): void {
  const shape = layer(...inputs).shape;
  const r = tf.tensor(
    normal(
      rng,
      shape.reduce((a, b) => a * b, 1),
      1,
    ),
    shape,
  );
  const ours = run(layer, inputs, r, true);
  const theirs = run(layer, inputs, r, false);
  assert.deepEqual(ours.value.shape, theirs.value.shape);
  const d = relDiff(ours.value, theirs.value);
  assert.ok(d < tol, `value differs by ${d}`);
  assert.ok(finite(ours.value), 'value not finite');
  ours.grads.forEach((g, i) => {
    assert.deepEqual(g.shape, inputs[i].shape);
    const dg = relDiff(g, theirs.grads[i]);
    assert.ok(dg < tol, `gradient ${i} differs by ${dg}`);
    assert.ok(finite(g), `gradient ${i} not finite`);
  });
  tf.dispose([r, ours.value, theirs.value, ...ours.grads, ...theirs.grads]);
}

// float64 references, per row of width d (the tfjs ops are float32 and so cannot check a gradient by differences).
const C = Math.sqrt(2 / Math.PI);
const gelu64 = (x: number[]) => x.map((v) => 0.5 * v * (1 + Math.tanh(C * (v + 0.044715 * v * v * v))));
function norm64(x: number[], w: number[], b: number[] | undefined, eps: number, rms: boolean, unitOffset: boolean): number[] {
  const d = w.length;
  const out: number[] = [];
  for (let r = 0; r < x.length / d; r++) {
    const row = x.slice(r * d, (r + 1) * d);
    const m = rms ? 0 : row.reduce((a, v) => a + v, 0) / d;
    const s = 1 / Math.sqrt(row.reduce((a, v) => a + (v - m) ** 2, 0) / d + eps);
    row.forEach((v, j) => out.push((v - m) * s * (unitOffset ? 1 + w[j] : w[j]) + (b ? b[j] : 0)));
  }
  return out;
}

/** Ours against a float64 reference: values, and each gradient against central differences of Σ f(x)·r. */
function assertFiniteDifferences(layer: Layer, ref: (inputs: number[][]) => number[], inputs: tf.Tensor[], rng: Rng): void {
  const arrays = inputs.map((t) => Array.from(t.dataSync()));
  const y = ref(arrays);
  const r = normal(rng, y.length, 1);
  const loss = (xs: number[][]) => ref(xs).reduce((a, v, i) => a + v * r[i], 0);
  const rt = tf.tensor(r, layer(...inputs).shape);
  const ours = run(layer, inputs, rt, true);
  const scale = Math.max(1, ...y.map(Math.abs));
  Array.from(ours.value.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-5 * scale, `value ${i}: ${v} vs ${y[i]}`));
  const h = 1e-6;
  ours.grads.forEach((g, k) => {
    const got = g.dataSync();
    const fd = arrays[k].map((_, i) => {
      const up = arrays.map((a) => a.slice());
      const down = arrays.map((a) => a.slice());
      up[k][i] += h;
      down[k][i] -= h;
      return (loss(up) - loss(down)) / (2 * h);
    });
    const gscale = Math.max(1, ...fd.map(Math.abs));
    fd.forEach((want, i) => assert.ok(Math.abs(got[i] - want) < 1e-4 * gscale, `gradient ${k}[${i}]: ${got[i]} vs ${want}`));
  });
  tf.dispose([rt, ours.value, ...ours.grads]);
}

const ln =
  (eps: number): Layer =>
  (x, w, b) =>
    layerNorm(x, w as tf.Tensor1D, b as tf.Tensor1D, eps);
const rms =
  (eps: number, unitOffset: boolean): Layer =>
  (x, w) =>
    rmsNorm(x, w as tf.Tensor1D, eps, unitOffset);

describe('our element-wise kernel (GELU, LayerNorm, RMSNorm)', () => {
  before(async () => {
    await useTestBackend();
  });

  for (const shape of [[1], [3], [7, 5], [2, 3, 13], [33, 130], [1027]]) {
    it(`GELU matches the tfjs ops for shape [${shape}]`, () => {
      const rng = new Rng(shape.reduce((a, b) => a * 31 + b, 7));
      const x = tf.tensor(
        normal(
          rng,
          shape.reduce((a, b) => a * b, 1),
          2,
        ),
        shape,
      );
      assertMatches((t) => geluNew(t), [x], rng);
      x.dispose();
    });
  }

  it('GELU saturates without NaN or Inf for |x| up to 1e4: y = x or ~0, slope 1 or ~0', () => {
    const xs = [-1e4, -1e3, -100, -44, -20, -9, 9, 20, 44, 100, 1e3, 1e4, 0, -0.5];
    const x = tf.tensor1d(xs);
    assertMatches((t) => geluNew(t), [x], new Rng(3));
    const { value, grads } = run((t) => geluNew(t), [x], tf.onesLike(x), true);
    const y = value.dataSync();
    const g = grads[0].dataSync();
    xs.forEach((v, i) => {
      if (Math.abs(v) < 20) return;
      assert.ok(Math.abs(y[i] - Math.max(v, 0)) <= 1e-6 * Math.abs(v), `gelu(${v}) = ${y[i]}`);
      assert.ok(Math.abs(g[i] - (v > 0 ? 1 : 0)) < 1e-20, `gelu'(${v}) = ${g[i]}`);
    });
    tf.dispose([x, value, ...grads]);
  });

  it('GELU matches float64 and its gradient central differences', () => {
    const rng = new Rng(11);
    const x = tf.tensor1d(normal(rng, 9, 2));
    assertFiniteDifferences(
      (t) => geluNew(t),
      ([v]) => gelu64(v),
      [x],
      rng,
    );
    x.dispose();
  });

  // [rows..., width]: one row, width 1, widths off the 4-lane vector, a model's 256.
  const normShapes = [
    [1, 1],
    [1, 5],
    [4, 1],
    [3, 7],
    [2, 3, 13],
    [17, 130],
    [8, 256],
  ];
  for (const shape of normShapes) {
    const d = shape[shape.length - 1];
    const n = shape.reduce((a, b) => a * b, 1);
    it(`LayerNorm matches the tfjs ops for shape [${shape}]`, () => {
      const rng = new Rng(n * 13 + d);
      const [x, w, b] = [tf.tensor(normal(rng, n, 3, 0.5), shape), tf.tensor1d(normal(rng, d, 0.5, 1)), tf.tensor1d(normal(rng, d, 0.5))];
      assertMatches(ln(1e-5), [x, w, b], rng);
      tf.dispose([x, w, b]);
    });
    for (const unitOffset of [false, true]) {
      it(`RMSNorm${unitOffset ? ' (1 + w)' : ''} matches the tfjs ops for shape [${shape}]`, () => {
        const rng = new Rng(n * 17 + d + (unitOffset ? 1 : 0));
        const [x, w] = [tf.tensor(normal(rng, n, 3, 0.5), shape), tf.tensor1d(normal(rng, d, 0.5, unitOffset ? 0 : 1))];
        assertMatches(rms(1e-6, unitOffset), [x, w], rng);
        tf.dispose([x, w]);
      });
    }
  }

  it('LayerNorm and RMSNorm match float64 and their gradient central differences (x, w, b)', () => {
    const rng = new Rng(5);
    const [x, w, b] = [tf.tensor2d(normal(rng, 3 * 6, 2, 0.3), [3, 6]), tf.tensor1d(normal(rng, 6, 0.5, 1)), tf.tensor1d(normal(rng, 6, 0.5))];
    assertFiniteDifferences(ln(1e-5), ([xv, wv, bv]) => norm64(xv, wv, bv, 1e-5, false, false), [x, w, b], rng);
    for (const unitOffset of [false, true])
      assertFiniteDifferences(rms(1e-6, unitOffset), ([xv, wv]) => norm64(xv, wv, undefined, 1e-6, true, unitOffset), [x, w], rng);
    tf.dispose([x, w, b]);
  });

  it('eps: a constant row (variance 0) gives y = b and finite gradients; a large eps matches too', () => {
    const rng = new Rng(9);
    const x = tf.tensor2d([2, 2, 2, 2, 2, 1, -1, 3, 0.5, 0], [2, 5]);
    const [w, b] = [tf.tensor1d(normal(rng, 5, 0.5, 1)), tf.tensor1d(normal(rng, 5, 0.5))];
    for (const eps of [1e-5, 0.1]) assertMatches(ln(eps), [x, w, b], rng);
    const zero = tf.zeros([2, 5]);
    for (const eps of [1e-6, 0.1]) assertMatches(rms(eps, false), [zero, w], rng);
    const { value, grads } = run(ln(1e-5), [x, w, b], tf.onesLike(x), true);
    const row0 = Array.from(value.dataSync()).slice(0, 5);
    row0.forEach((v, j) => assert.ok(Math.abs(v - b.dataSync()[j]) < 1e-6, `constant row: y ${v}`));
    tf.dispose([x, w, b, zero, value, ...grads]);
  });

  it('keeps the tensor count flat over repeated forward and backward passes', () => {
    const rng = new Rng(21);
    const x = tf.tensor2d(normal(rng, 6 * 10, 1), [6, 10]);
    const w = tf.variable(tf.tensor1d(normal(rng, 10, 0.5, 1)));
    const b = tf.variable(tf.tensor1d(normal(rng, 10, 0.5)));
    setFusedElementwise(true);
    try {
      assertTensorCountFlat(() => {
        const loss = () => tf.sum(geluNew(rmsNorm(layerNorm(x, w, b, 1e-5), w, 1e-6, true))) as tf.Scalar;
        const { value, grads } = tf.variableGrads(loss);
        tf.dispose([value, grads]);
      });
    } finally {
      setFusedElementwise(undefined);
      tf.dispose([x, w, b]);
    }
  });

  it('is off with DPO_FUSED_ELEMENTWISE=0, for non-float tensors and empty ones', () => {
    const x = tf.ones([2, 4]);
    const saved = process.env.DPO_FUSED_ELEMENTWISE;
    try {
      process.env.DPO_FUSED_ELEMENTWISE = '0';
      assert.equal(fusedElementwiseApplies(x), false);
      process.env.DPO_FUSED_ELEMENTWISE = '1';
      assert.equal(fusedElementwiseApplies(x), true);
      assert.equal(fusedElementwiseApplies(tf.ones([2, 4], 'int32')), false);
      assert.equal(fusedElementwiseApplies(tf.zeros([0, 4]), 4), false);
    } finally {
      if (saved === undefined) delete process.env.DPO_FUSED_ELEMENTWISE;
      else process.env.DPO_FUSED_ELEMENTWISE = saved;
    }
  });

  itChecksBothBuilds({ what: 'the element-wise kernel', build: elementwiseBuild, modules: [WASM_BASE64, WASM_FMA_BASE64], file: __filename });
});
