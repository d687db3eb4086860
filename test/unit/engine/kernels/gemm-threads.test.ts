// Our GEMM on several threads (src/engine/kernels/gemm.ts over attention-threads.ts's pool): every
// form on ragged shapes, split by rows and by columns, equal bit for bit to one thread, values and
// gradients through ops.ts's products; the default path on wasm's threads; a worker's failure as a named
// error; the process exits by itself.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../../helpers/fixtures';
import { closeGemmThreads, gemmApplies, product, setGemmMode, setGemmThreads } from '../../../../src/engine/kernels/gemm';
import { wasmBackendThreads } from '../../../../src/engine/kernels/wasm-kernel';
import { KernelThreads, unitsRunOnWorkers } from '../../../../src/engine/kernels/attention-threads';
import { WASM_BASE64 } from '../../../../src/engine/kernels/gemm-wasm';
import { conv1d, linear } from '../../../../src/engine/model/ops';
import { Rng } from '../../../../src/engine/rng';

function random(rng: Rng, shape: [number, number]): tf.Tensor2D {
  const data = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() * 2 - 1;
  return tf.tensor2d(data, shape);
}

/** Runs fn with our GEMM on for every product, on `threads` threads at every size. */
function withThreads<T>(threads: number, fn: () => T): T {
  setGemmMode('on');
  setGemmThreads(threads);
  try {
    return fn();
  } finally {
    setGemmThreads(undefined);
    setGemmMode(undefined);
  }
}

function sameBits(a: tf.Tensor, b: tf.Tensor, what: string): void {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) assert.fail(`${what}: element ${i} is ${x[i]} on threads, ${y[i]} on one`);
}

describe('our GEMM on threads', () => {
  after(() => closeGemmThreads());

  // [M, N, K]: split by columns (M under 32 rows a unit), by rows with a short last block, single units.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [5, 1, 7],
    [7, 13, 5],
    [33, 1030, 40],
    [130, 70, 257],
    [259, 263, 520],
    [600, 9, 300],
  ];
  const forms = [
    { name: 'A·B', transA: false, transB: false },
    { name: 'A·Bᵀ', transA: false, transB: true },
    { name: 'Aᵀ·B', transA: true, transB: false },
  ];
  it('gives every form the same bits on 2 and 3 threads as on one, and the workers take units', async () => {
    await useTestBackend();
    const before = unitsRunOnWorkers();
    for (const [M, N, K] of shapes) {
      for (const f of forms) {
        const rng = new Rng(M * 1000 + N * 10 + K);
        const a = random(rng, f.transA ? [K, M] : [M, K]);
        const b = random(rng, f.transB ? [N, K] : [K, N]);
        const one = withThreads(1, () => product(a, b, f.transA, f.transB));
        // A product that wrote nothing would be zeros: the reference is not.
        assert.ok(tf.max(tf.abs(one)).dataSync()[0] > 0);
        const negA = tf.neg(a) as tf.Tensor2D;
        for (const threads of [2, 3]) {
          // C's place in the kernel's memory now holds −C: a block the threads skipped would show it.
          withThreads(1, () => product(negA, b, f.transA, f.transB)).dispose();
          const many = withThreads(threads, () => product(a, b, f.transA, f.transB));
          assert.deepEqual(many.shape, [M, N]);
          sameBits(many, one, `${f.name} ${M}×${N}×${K}, ${threads} threads`);
          many.dispose();
        }
        tf.dispose([a, negA, b, one]);
      }
    }
    assert.ok(unitsRunOnWorkers() > before, 'no unit ran on a worker thread');
  });

  for (const l of [
    { name: 'linear', layer: (x: tf.Tensor, w: tf.Tensor2D) => linear(x, w), wShape: [96, 140] as [number, number] },
    { name: 'conv1d', layer: (x: tf.Tensor, w: tf.Tensor2D) => conv1d(x, w, tf.zeros([w.shape[1]])), wShape: [140, 96] as [number, number] },
  ]) {
    it(`gives ${l.name}'s value and gradients the same bits on 2 threads as on one`, async () => {
      await useTestBackend();
      const rng = new Rng(17);
      const x = random(rng, [150, 140]);
      const w = random(rng, l.wShape);
      const r = random(rng, [150, 96]);
      const run = () => {
        const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(l.layer(xx, ww as tf.Tensor2D), r)) as tf.Scalar;
        const { value, grads } = tf.valueAndGrads(f)([x, w]);
        return [value, ...grads];
      };
      const one = withThreads(1, run);
      const two = withThreads(2, run);
      ['value', 'dx', 'dW'].forEach((what, i) => sameBits(two[i], one[i], `${l.name} ${what}`));
      tf.dispose([x, w, r, ...one, ...two]);
    });
  }

  it("runs on wasm's own thread count by default, for a weight gradient over the work threshold", async (t) => {
    await useTestBackend();
    if (tf.getBackend() !== 'wasm' || wasmBackendThreads() < 2) return t.skip('wasm runs one thread here');
    const rng = new Rng(3);
    const x = random(rng, [512, 256]);
    const dy = random(rng, [512, 256]);
    assert.equal(gemmApplies(x, dy, true, false), true);
    const before = unitsRunOnWorkers();
    // The calling thread may take every unit of one product on a busy machine: a few tries.
    for (let i = 0; i < 20 && unitsRunOnWorkers() === before; i++) product(x, dy, true, false).dispose();
    assert.ok(unitsRunOnWorkers() > before, 'no unit of the default path ran on a worker thread');
    tf.dispose([x, dy]);
  });

  it("turns a worker's failure into an error that names the GEMM and how to avoid the threads", () => {
    const wasm = (globalThis as unknown as { WebAssembly: unknown }).WebAssembly as {
      Module: new (b: Uint8Array) => object;
      Memory: new (d: object) => object;
    };
    const memory = new wasm.Memory({ initial: 1, maximum: 65536, shared: true });
    const pool = new KernelThreads(2, new wasm.Module(Buffer.from(WASM_BASE64, 'base64')), memory, {
      exports: ['gemmUnit'],
      what: 'GEMM',
      avoid: '--threads 1 (or DPO_GEMM=0)',
    });
    try {
      // This thread's units nap (a stand-in); the worker's read operands past the memory's end and trap.
      const nap = new Int32Array(new SharedArrayBuffer(4));
      const fake = { gemmUnit: () => void Atomics.wait(nap, 0, 0, 20) };
      const bad = 2 ** 31;
      const args = [64, 64, 64, bad, 64, 1, bad, 64, 1, bad, 0, 4, 64];
      assert.throws(
        () => pool.runUnits(fake, 'gemmUnit', 16, args, 10, 0),
        /GEMM failed on a worker thread: worker 1, unit \d+: RuntimeError: memory access out of bounds/,
      );
      assert.throws(() => pool.runUnits(fake, 'forward', 2, args, 10, 0), /GEMM threads: no export forward/);
    } finally {
      pool.close();
    }
  });

  it('lets the process exit by itself after using the threads', () => {
    const script = `
      const tf = require('@tensorflow/tfjs');
      const { useTestBackend } = require(${JSON.stringify(path.join(__dirname, '../../helpers/fixtures'))});
      const g = require(${JSON.stringify(path.join(__dirname, '../../../../src/engine/kernels/gemm'))});
      useTestBackend().then(() => {
        g.setGemmMode('on');
        g.setGemmThreads(2);
        const a = tf.randomNormal([256, 128]);
        console.log('shape', g.product(a, a, false, true).shape.join('x'));
      });`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /shape 256x256/);
  });
});
