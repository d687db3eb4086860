// splitHeadsParts (split-heads.ts) replaces tf.split + a transpose per part for GPT-2's fused q/k/v:
// the same values and the same gradient bit for bit, and no tensor left behind.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/fixtures';
import { splitHeadsParts } from '../../../src/engine/model/split-heads';

/** What the transformer did before: tf.split on the last axis, then [B, T, H, hd] -> [B, H, T, hd]. */
function viaSplit(x: tf.Tensor3D, parts: number, H: number, hd: number): tf.Tensor4D[] {
  const [B, T] = x.shape;
  return tf.tidy(() => tf.split(x, parts, 2).map((t) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]) as tf.Tensor4D));
}

function sameBits(got: tf.Tensor, want: tf.Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const [g, w] = [got.dataSync(), want.dataSync()];
  for (let i = 0; i < w.length; i++) assert.ok(Object.is(g[i], w[i]), `${what}, element ${i}: ${g[i]} !== ${w[i]}`);
}

describe('splitHeadsParts: fused q/k/v into heads', () => {
  before(useTestBackend);

  for (const [B, T, H, hd] of [
    [2, 5, 4, 8],
    [1, 1, 2, 16],
    [3, 7, 1, 4],
  ])
    it(`B ${B}, T ${T}, ${H} heads of ${hd}: tf.split's values and gradient bit for bit`, () => {
      const x = tf.randomNormal([B, T, 3 * H * hd], 0, 2, 'float32', B + T) as tf.Tensor3D;
      const w = [0, 1, 2].map((p) => tf.randomNormal([B, H, T, hd], 0, 1, 'float32', 10 + p));
      const tensors = tf.memory().numTensors;
      const got = splitHeadsParts(x, 3, H, hd);
      const want = viaSplit(x, 3, H, hd);
      got.forEach((g, p) => sameBits(g, want[p], `part ${p}`));
      tf.dispose([...got, ...want]);
      // A loss that weighs each part differently, so a part's gradient in another's columns shows.
      const loss = (f: typeof viaSplit) => (xx: tf.Tensor) => tf.addN(f(xx as tf.Tensor3D, 3, H, hd).map((t, p) => tf.sum(tf.mul(t, w[p]))));
      const gGot = tf.grad(loss(splitHeadsParts))(x);
      const gWant = tf.grad(loss(viaSplit))(x);
      sameBits(gGot, gWant, 'gradient');
      tf.dispose([gGot, gWant]);
      assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
      tf.dispose([x, ...w]);
    });
});
