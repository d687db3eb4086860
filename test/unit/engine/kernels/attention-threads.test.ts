// The fused attention kernel on several threads (src/engine/kernels/attention-threads.ts): values and
// gradients equal to the one-thread run to 1e-5 on the shapes of attention.test.ts (ragged, GQA, a
// KV cache, windows, soft-capping) and on a long one; a worker's failure as a clear error, not a
// hang; a process that used the threads exits by itself; and the threads stay out of the bundles
// that run where blocking the main thread is not allowed.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../../helpers/fixtures';
import { closeFusedAttentionThreads, fusedAttention, setFusedAttentionThreads } from '../../../../src/engine/kernels/attention';
import { AttentionThreads, unitsRunOnWorkers } from '../../../../src/engine/kernels/attention-threads';
import { WASM_BASE64 } from '../../../../src/engine/kernels/attention-wasm';
import { Case, inputs, maxDiff, valueAndGrads } from './attention-cases';

describe('fused attention kernel on threads', () => {
  before(async () => {
    await useTestBackend();
  });
  after(() => {
    setFusedAttentionThreads(undefined);
    closeFusedAttentionThreads();
  });

  let workerUnits = 0;
  const cases: Case[] = [
    { B: 2, H: 4, KV: 4, T: 37, hd: 16 },
    { B: 1, H: 8, KV: 2, T: 100, hd: 64 }, // GQA: two (sequence, kv head) units, so query chunks in the forward pass
    { B: 1, H: 4, KV: 2, T: 20, past: 50, hd: 8 },
    { B: 2, H: 2, KV: 1, T: 150, hd: 12, window: 40 },
    { B: 2, H: 4, KV: 2, T: 45, hd: 16, softcap: 3 },
    { B: 1, H: 2, KV: 1, T: 300, hd: 64 }, // one unit a pass but for the query chunks: ten blocks over three threads
  ];
  for (const c of cases) {
    it(`equals the one-thread run on 2 and 3 threads: ${JSON.stringify(c)}`, () => {
      const { q, k, v, w } = inputs(c, c.T * 17 + c.hd);
      const options = { scale: (c.softcap ? 4 : 1) / Math.sqrt(c.hd), window: c.window ?? 0, softcap: c.softcap };
      const run = (threads: number) => {
        setFusedAttentionThreads(threads);
        return valueAndGrads((a, b, d) => fusedAttention(a, b, d, options)!, q, k, v, w);
      };
      const one = run(1);
      const before = unitsRunOnWorkers();
      for (const threads of [2, 3]) {
        const many = run(threads);
        for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
          const d = maxDiff(one[key], many[key]);
          assert.ok(d < 1e-5, `${threads} threads: ${key} differs by ${d}`);
        }
      }
      assert.ok(tf.max(tf.abs(one.dk)).dataSync()[0] > 1e-2); // not trivially equal zeros
      workerUnits += unitsRunOnWorkers() - before;
    });
  }

  it('ran some of those units on the worker threads', () => {
    assert.ok(workerUnits > 0, 'every unit ran on the calling thread: the comparison above compared one thread with itself');
  });

  it("turns a worker's failure into an error that says so, and stays usable", () => {
    const wasm = (globalThis as unknown as { WebAssembly: unknown }).WebAssembly as {
      Module: new (b: Uint8Array) => object;
      Memory: new (d: object) => object;
    };
    const memory = new wasm.Memory({ initial: 1, maximum: 65536, shared: true });
    const pool = new AttentionThreads(2, new wasm.Module(Buffer.from(WASM_BASE64, 'base64')), memory);
    try {
      // This thread's units succeed (a stand-in kernel); the worker's trap on pointers past the memory's end.
      // It naps 20 ms a unit, so the worker claims some.
      const nap = new Int32Array(new SharedArrayBuffer(4));
      const fake = { forward: () => void Atomics.wait(nap, 0, 0, 20), backward: () => undefined };
      const bad = 2 ** 31;
      const args = [1, 1, 1, 64, 64, 16, 0, 0, 0, 1, bad, bad, bad, bad, bad, bad, 64];
      assert.throws(
        () => pool.runUnits(fake, 'forward', 16, args, 15, 0),
        /failed on a worker thread: worker 1, unit \d+: RuntimeError: memory access out of bounds/,
      );
      let calls = 0;
      pool.runUnits({ forward: () => void calls++, backward: () => undefined }, 'backward', 0, [], 0, 0);
      assert.equal(calls, 0);
    } finally {
      pool.close();
    }
  });

  it('fails with the reason when a worker cannot instantiate the module, instead of waiting for it', () => {
    const wasm = (globalThis as unknown as { WebAssembly: unknown }).WebAssembly as {
      Module: new (b: Uint8Array) => object;
      Memory: new (d: object) => object;
    };
    // A module that imports a function env.f, which the workers do not supply: instantiation throws.
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0]);
    const memory = new wasm.Memory({ initial: 1, maximum: 16, shared: true });
    assert.throws(() => new AttentionThreads(2, new wasm.Module(bytes), memory), /worker threads: could not instantiate the kernel: LinkError.*--threads 1/s);
  });

  it('stays out of the extension host and the webviews, where the main thread may not block', () => {
    const root = path.resolve(__dirname, '../../../../..');
    const marker = 'could not instantiate the kernel'; // a string of the worker script
    assert.ok(fs.readFileSync(path.join(root, 'dist', 'engine.js'), 'utf8').includes(marker), 'dist/ is missing or stale: run `npm run build`');
    const webviews = fs.readdirSync(path.join(root, 'out', 'webview')).filter((f) => f.endsWith('.js'));
    assert.ok(webviews.length > 0);
    for (const file of [path.join(root, 'dist', 'extension.js'), ...webviews.map((f) => path.join(root, 'out', 'webview', f))])
      assert.ok(!fs.readFileSync(file, 'utf8').includes(marker), `${file} carries the attention threads`);
  });

  it('lets the process exit by itself after using the threads', () => {
    const script = `
      const tf = require('@tensorflow/tfjs');
      const { useTestBackend } = require(${JSON.stringify(path.join(__dirname, '../../helpers/fixtures'))});
      const att = require(${JSON.stringify(path.join(__dirname, '../../../../src/engine/kernels/attention'))});
      useTestBackend().then(() => {
        att.setFusedAttentionThreads(2);
        const q = tf.randomNormal([2, 2, 64, 16]);
        const out = att.fusedAttention(q, q, q, { scale: 0.25 });
        console.log('shape', out.shape.join('x'));
      });`;
    const t0 = Date.now();
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /shape 2x64x32/);
    assert.ok(Date.now() - t0 < 60_000);
  });
});
