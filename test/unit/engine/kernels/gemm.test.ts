// Our own GEMM (src/engine/kernels/gemm.ts) against tf.matMul: the three forms the model uses
// (A·B, A·Bᵀ, Aᵀ·B) to 1e-5 relative on ragged shapes (K = 1, N = 1, sizes off the 4×8 block and
// the K/M/N blocks), values and gradients through ops.ts's products, the tensor count flat, the
// mode switch. The bytes-equal rebuild check of its wasm is attention.test.ts's (build-kernels --check covers every module).
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../../helpers/fixtures';
import { assertTensorCountFlat } from '../../helpers/tensor-count';
import { itChecksBothBuilds } from './kernel-builds';
import { gemmApplies, gemmBuild, product, setGemmMode } from '../../../../src/engine/kernels/gemm';
import { WASM_BASE64, WASM_FMA_BASE64 } from '../../../../src/engine/kernels/gemm-wasm';
import { conv1d, linear } from '../../../../src/engine/model/ops';
import { frozenConv1d, frozenLinear } from '../../../../src/engine/model/frozen-ops';
import { Rng } from '../../../../src/engine/rng';
import { pickKernelBuild } from '../../../../src/engine/kernels/wasm-kernel';

function random(rng: Rng, shape: number[]): tf.Tensor2D {
  const data = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() * 2 - 1;
  return tf.tensor2d(data, shape as [number, number]);
}

/** max |a − b| / max(1, max |b|): relative to the reference's scale, as a product's rounding grows with it. */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1, tf.max(tf.abs(b)).dataSync()[0]));
}

describe('our GEMM', () => {
  before(async () => {
    await useTestBackend();
  });

  // [M, N, K]: 1s, sizes one off the 4×8 register block, past the K block (256), the row block
  // (128) and the column block (1024).
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [5, 1, 7],
    [1, 9, 3],
    [7, 13, 1],
    [33, 17, 300],
    [130, 70, 257],
    [64, 1030, 40],
    [259, 263, 520],
  ];
  const forms = [
    { name: 'A·B', transA: false, transB: false },
    { name: 'A·Bᵀ', transA: false, transB: true },
    { name: 'Aᵀ·B', transA: true, transB: false },
  ];
  for (const [M, N, K] of shapes) {
    for (const f of forms) {
      it(`${f.name} matches tf.matMul for M ${M}, N ${N}, K ${K}`, () => {
        const rng = new Rng(M * 1000 + N * 10 + K);
        const a = random(rng, f.transA ? [K, M] : [M, K]);
        const b = random(rng, f.transB ? [N, K] : [K, N]);
        setGemmMode('on');
        try {
          assert.ok(gemmApplies(a, b, f.transA, f.transB));
          const ours = product(a, b, f.transA, f.transB);
          const theirs = tf.matMul(a, b, f.transA, f.transB);
          assert.deepEqual(ours.shape, [M, N]);
          const d = relDiff(ours, theirs);
          assert.ok(d < 1e-5, `differs by ${d}`);
          tf.dispose([a, b, ours, theirs]);
        } finally {
          setGemmMode(undefined);
        }
      });
    }
  }

  /** Value and the gradients of x and (unless frozen) w of Σ layer(x, w)·r, with our products on or off. */
  function layerGrads(layer: (x: tf.Tensor, w: tf.Tensor2D) => tf.Tensor, x: tf.Tensor2D, w: tf.Tensor2D, r: tf.Tensor, mode: 'on' | 'off', frozen: boolean) {
    setGemmMode(mode);
    try {
      const value = tf.tidy(() => layer(x, w));
      const loss = (xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(layer(xi, wi as tf.Tensor2D), r));
      if (frozen) return { value, dx: tf.grad((xi: tf.Tensor) => loss(xi, w))(x), dw: undefined };
      const [dx, dw] = tf.grads(loss)([x, w]);
      return { value, dx, dw };
    } finally {
      setGemmMode(undefined);
    }
  }

  const layers = [
    { name: 'linear (x·Wᵀ, W [out, in])', layer: (x: tf.Tensor, w: tf.Tensor2D) => linear(x, w), wShape: [45, 70], frozen: false },
    { name: 'conv1d (x·W, W [in, out])', layer: (x: tf.Tensor, w: tf.Tensor2D) => conv1d(x, w, tf.zeros([w.shape[1]])), wShape: [70, 45], frozen: false },
    { name: 'frozen linear', layer: (x: tf.Tensor, w: tf.Tensor2D) => frozenLinear(x, w), wShape: [45, 70], frozen: true },
    { name: 'frozen conv1d', layer: (x: tf.Tensor, w: tf.Tensor2D) => frozenConv1d(x, w, tf.zeros([w.shape[1]])), wShape: [70, 45], frozen: true },
  ];
  for (const l of layers) {
    it(`gives ${l.name} the same value and gradients as tfjs's products`, () => {
      const rng = new Rng(11);
      const x = random(rng, [37, 70]);
      const w = random(rng, l.wShape);
      const r = random(rng, [37, 45]);
      const ours = layerGrads(l.layer, x, w, r, 'on', l.frozen);
      const theirs = layerGrads(l.layer, x, w, r, 'off', l.frozen);
      assert.ok(relDiff(ours.value, theirs.value) < 1e-5, `value differs by ${relDiff(ours.value, theirs.value)}`);
      assert.ok(relDiff(ours.dx, theirs.dx) < 1e-5, `dx differs by ${relDiff(ours.dx, theirs.dx)}`);
      if (!l.frozen) assert.ok(relDiff(ours.dw!, theirs.dw!) < 1e-5, `dW differs by ${relDiff(ours.dw!, theirs.dw!)}`);
      // dy·W is r·W here: its gradient is not zero, so a product that returned zeros would fail.
      assert.ok(tf.max(tf.abs(theirs.dx)).dataSync()[0] > 1e-2);
    });
  }

  it('keeps the tensor count flat over repeated forward and backward passes', () => {
    const rng = new Rng(5);
    const x = random(rng, [20, 30]);
    const w = tf.variable(random(rng, [12, 30]));
    setGemmMode('on');
    try {
      assertTensorCountFlat(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(linear(x, w as unknown as tf.Tensor2D)) as tf.Scalar);
        tf.dispose([value, grads]);
      });
    } finally {
      setGemmMode(undefined);
    }
  });

  it('is off with DPO_GEMM=0 and for non-float operands', () => {
    const a = tf.ones([4, 4]) as tf.Tensor2D;
    setGemmMode('off');
    try {
      assert.equal(gemmApplies(a, a, false, false), false);
    } finally {
      setGemmMode(undefined);
    }
    setGemmMode('on');
    try {
      assert.equal(gemmApplies(tf.ones([4, 4], 'int32') as tf.Tensor2D, a, false, false), false);
    } finally {
      setGemmMode(undefined);
    }
  });

  itChecksBothBuilds({ what: 'the GEMM kernel', build: gemmBuild, modules: [WASM_BASE64, WASM_FMA_BASE64], file: __filename });

  it('refuses a DPO_KERNEL_BUILD it does not know, naming the choices', () => {
    const saved = process.env.DPO_KERNEL_BUILD;
    process.env.DPO_KERNEL_BUILD = 'avx';
    try {
      assert.throws(() => pickKernelBuild(WASM_BASE64, WASM_FMA_BASE64), /DPO_KERNEL_BUILD="avx": use simd .*fma/);
    } finally {
      if (saved === undefined) delete process.env.DPO_KERNEL_BUILD;
      else process.env.DPO_KERNEL_BUILD = saved;
    }
  });
});
