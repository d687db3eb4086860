import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, selectBackend } from '../../../src/engine/backend';
import { resolveThreads } from '../../../src/engine/wasm-threads';

function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

describe('backend selection', () => {
  it('picks the fastest backend that loads and says why the faster ones were skipped', async () => {
    const report = await selectBackend();
    assert.equal(tf.getBackend(), report.name === 'wasm' || report.name === 'cpu' ? report.name : 'tensorflow');
    if (!installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node')) {
      // These machines: the native packages' install cannot download libtensorflow.
      assert.equal(report.name, 'wasm');
      assert.deepEqual(
        report.skipped.map((s) => s.name),
        ['tfjs-node-gpu', 'webgpu', 'tfjs-node'],
      );
      assert.match(report.skipped[0].reason, /not installed \(an optional dependency/);
      // No GPU here: Dawn finds no adapter, or only a software one, and auto never takes that.
      assert.match(report.skipped[1].reason, /no GPU adapter|only a software adapter|not installed/);
      assert.equal(report.simd, true);
      // Default: every core (the threaded build when there is more than one).
      const n = resolveThreads(undefined);
      assert.equal(report.threads, n);
      assert.ok(describeBackend(report).startsWith(`backend wasm (SIMD, ${n === 1 ? '1 thread' : `${n} threads`}); not tfjs-node-gpu: not installed`));
    }
  });

  it('--backend forces one, and a forced backend that cannot load is an error, not a fallback', async () => {
    const cpu = await selectBackend('cpu');
    assert.deepEqual([cpu.name, cpu.forced, tf.getBackend()], ['cpu', true, 'cpu']);
    assert.match(describeBackend(cpu), /\[forced\]/);
    if (!installed('@tensorflow/tfjs-node')) {
      await assert.rejects(selectBackend('tfjs-node'), /backend 'tfjs-node' was requested but could not load: not installed/);
    }
  });
});
