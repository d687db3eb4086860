// AdamW with its moments outside the tfjs heap (the wasm placement) against the on-device one:
// the same weights after several clipped, decayed steps, and no tensors held for the moments.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/fixtures';
import { AdamW, MomentPlacement, momentPlacementFor } from '../../../src/engine/train/optimizer';

const PARAMS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 };
const SHAPES: [string, number[]][] = [
  ['transformer.h.0.mlp.c_fc.weight', [6, 10]], // decayed
  ['transformer.h.0.mlp.c_fc.bias', [10]], // not decayed
  ['transformer.wte.weight', [7, 6]],
];

/** Deterministic values in about [-1, 1] (a small LCG), so both runs see the same numbers. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = (s / 2 ** 30 - 1) * (1 + (i % 3));
  }
  return out;
}

function makeWeights(): Map<string, tf.Variable> {
  return new Map(
    SHAPES.map(([name, shape], k) => [
      name,
      tf.variable(
        tf.tensor(
          values(
            shape.reduce((a, b) => a * b, 1),
            7 + k,
          ),
          shape,
        ),
      ),
    ]),
  );
}

/** Three steps with gradients scaled by clip factors below 1 (as step.ts passes them). */
async function train(placement: MomentPlacement): Promise<Map<string, Float32Array>> {
  const weights = makeWeights();
  const opt = new AdamW(weights, PARAMS, placement);
  for (let t = 0; t < 3; t++) {
    const grads = new Map(
      SHAPES.map(
        ([name, shape], k) =>
          [
            name,
            tf.tensor(
              values(
                shape.reduce((a, b) => a * b, 1),
                100 * t + k,
              ),
              shape,
            ),
          ] as const,
      ),
    );
    opt.apply(grads, 0.01 * (t + 1), [0.5, 0.8, 0.25][t]);
    for (const g of grads.values()) g.dispose();
  }
  const out = new Map<string, Float32Array>();
  for (const [name, w] of weights) out.set(name, (await w.data()) as Float32Array);
  const state = await opt.exportState();
  for (const [name, s] of state) out.set(name, Float32Array.from(s.data));
  opt.dispose();
  for (const w of weights.values()) w.dispose();
  return out;
}

describe('AdamW with host (off-heap) moments', () => {
  before(useTestBackend);

  it('wasm keeps the moments on the host; webgpu and tfjs-node on the device', () => {
    assert.equal(momentPlacementFor('wasm'), 'host');
    assert.equal(momentPlacementFor('webgpu'), 'device');
    assert.equal(momentPlacementFor('tensorflow'), 'device');
  });

  it('gives the on-device weights and moments after 3 steps with decay and clipping (1e-6 relative)', async () => {
    const device = await train('device');
    const host = await train('host');
    assert.deepEqual([...host.keys()], [...device.keys()]);
    for (const [name, d] of device) {
      const h = host.get(name)!;
      const scale = Math.max(...d.map(Math.abs));
      d.forEach((x, i) => assert.ok(Math.abs(h[i] - x) <= 1e-6 * scale, `${name}[${i}]: host ${h[i]} vs device ${x}`));
    }
    // The update moved the weights (a no-op optimizer would also "agree").
    const start = values(60, 7);
    assert.ok(Math.abs(device.get(SHAPES[0][0])![0] - start[0]) > 1e-3);
  });

  it('holds no tensors for its state: heap bytes fall by twice the weights', () => {
    const weights = makeWeights();
    const weightBytes = [...weights.values()].reduce((a, w) => a + 4 * w.size, 0);
    const before = tf.memory();
    const device = new AdamW(weights, PARAMS, 'device');
    const withDevice = tf.memory();
    device.dispose();
    const host = new AdamW(weights, PARAMS, 'host');
    const withHost = tf.memory();
    assert.equal(withDevice.numBytes - before.numBytes, 2 * weightBytes);
    assert.equal(withDevice.numTensors - before.numTensors, 2 * weights.size);
    assert.equal(withHost.numBytes, before.numBytes);
    assert.equal(withHost.numTensors, before.numTensors);
    // One update leaves the tensor count as it was (the new weight replaces the old).
    const grads = new Map([...weights].map(([name, w]) => [name, tf.onesLike(w)] as const));
    host.apply(grads, 0.01, 0.5);
    for (const g of grads.values()) g.dispose();
    assert.equal(tf.memory().numTensors, before.numTensors);
    assert.equal(tf.memory().numBytes, before.numBytes);
    host.dispose();
    for (const w of weights.values()) w.dispose();
  });

  it('checkpoint state round-trips between placements', async () => {
    const a = makeWeights();
    const host = new AdamW(a, PARAMS, 'host');
    const grads = new Map([...a].map(([name, w]) => [name, tf.onesLike(w)] as const));
    host.apply(grads, 0.01);
    const state = await host.exportState();
    const b = makeWeights();
    const device = new AdamW(b, PARAMS, 'device');
    device.importState(state, host.step);
    const back = await device.exportState();
    for (const [name, s] of state) assert.deepEqual(Array.from(back.get(name)!.data), Array.from(s.data), name);
    assert.throws(() => host.importState(new Map(), 1), /no exp_avg\./);
    for (const g of grads.values()) g.dispose();
    for (const o of [host, device]) o.dispose();
    for (const w of [...a.values(), ...b.values()]) w.dispose();
  });
});
