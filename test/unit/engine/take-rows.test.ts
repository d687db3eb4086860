// takeRows (take-rows.ts) copies rows on the JS side in place of tfjs-wasm's gather: it must give
// tf.gather's values bit for bit, refuse an id outside the table, and leave no tensor behind.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/fixtures';
import { takeRows, takeRowsOnHost } from '../../../src/engine/model/take-rows';
import { gatherRows } from '../../../src/engine/model/ops';

describe('takeRows: rows copied on the host', () => {
  before(useTestBackend);

  it('equals tf.gather bit for bit (repeated, first and last rows), as a tensor of its own', () => {
    assert.ok(takeRowsOnHost() || tf.getBackend() === 'webgpu', `backend ${tf.getBackend()}`);
    const table = tf.randomNormal([37, 24], 0, 3, 'float32', 7) as tf.Tensor2D;
    const ids = tf.tensor1d([36, 0, 5, 5, 17, 36, 1], 'int32');
    const tensors = tf.memory().numTensors;
    const got = takeRows(table, ids);
    const want = tf.gather(table, ids);
    assert.deepEqual(got.shape, [7, 24]);
    const [g, w] = [got.dataSync(), want.dataSync()];
    for (let i = 0; i < w.length; i++) assert.ok(Object.is(g[i], w[i]), `element ${i}: ${g[i]} !== ${w[i]}`);
    // A copy, not a view: the table may change (an optimizer step) without changing the rows taken.
    table.dispose();
    assert.deepEqual(Array.from(got.dataSync()), Array.from(w));
    tf.dispose([got, want]);
    assert.equal(tf.memory().numTensors, tensors - 1, 'only the disposed table is gone');
    ids.dispose();
  });

  it('an empty id list gives [0, D]; an id outside the table is an error, not stray memory', () => {
    const table = tf.ones([4, 3]) as tf.Tensor2D;
    const none = takeRows(table, tf.tensor1d([], 'int32'));
    assert.deepEqual(none.shape, [0, 3]);
    if (takeRowsOnHost()) {
      for (const bad of [4, -1]) assert.throws(() => takeRows(table, tf.tensor1d([0, bad], 'int32')), /outside \[0, 3\]/);
    }
    tf.dispose([table, none]);
  });

  it('gatherRows (the embedding) keeps its scatter-add gradient with takeRows as its forward', () => {
    const v = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 3)) as tf.Variable<tf.Rank.R2>;
    const ids = tf.tensor1d([1, 4, 1, 0], 'int32');
    const weights = tf.randomNormal([4, 4], 0, 1, 'float32', 4);
    const tensors = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(gatherRows(v, ids), weights)) as tf.Scalar, [v]);
    const g = grads[v.name].arraySync() as number[][];
    const w = weights.arraySync() as number[][];
    // Row 1 gets the weights of positions 0 and 2, rows 4 and 0 one each, rows 2, 3, 5 nothing.
    const want = [w[3], w[0].map((x, j) => x + w[2][j]), [0, 0, 0, 0], [0, 0, 0, 0], w[1], [0, 0, 0, 0]];
    g.forEach((row, r) => row.forEach((x, j) => assert.ok(Math.abs(x - want[r][j]) < 1e-6, `grad [${r}, ${j}] ${x} vs ${want[r][j]}`)));
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind by the forward or the backward');
    tf.dispose([ids, weights, v]);
  });
});
