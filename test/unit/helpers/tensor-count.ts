// The tensor-count check of our tfjs ops: after one warm-up run (which may create what is cached for
// good), `repeats` more runs of `step` must leave tf.memory().numTensors where it was.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

export function assertTensorCountFlat(step: () => void, repeats = 3): void {
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < repeats; i++) step();
  assert.equal(tf.memory().numTensors, before, `the tensor count grew over ${repeats} runs`);
}
