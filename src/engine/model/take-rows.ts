// Rows of a 2-D tensor copied on the JS side. tfjs-wasm's gather moves one float at a time (about
// 65 ns a float: 8-9 ms for 2000 rows of 64), and the engine gathers rows three times per scored
// token (the embedding, the hidden states of the response positions, the head rows of their
// targets); a row is contiguous, so here it is one typed-array copy. Same values, bit for bit.
import * as tf from '@tensorflow/tfjs';
import { tensorFloats } from '../kernels/wasm-kernel';

/** Whether takeRows copies on the JS side here (wasm and cpu); elsewhere it is tf.gather. */
export function takeRowsOnHost(): boolean {
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu';
}

/**
 * Rows `ids` of `table` [V, D] -> [N, D], as tf.gather(table, ids) but no op with a gradient: for
 * forward values and gradient functions (ops.ts's gatherRows gives it its gradient).
 */
export function takeRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (!takeRowsOnHost() || table.dtype !== 'float32') return tf.gather(table, ids) as tf.Tensor2D;
  const [V, D] = table.shape;
  const idx = ids.dataSync();
  const out = new Float32Array(idx.length * D);
  // Read the view after every tfjs call above: a heap that grows detaches earlier views.
  const src = tensorFloats(table);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < V)) throw new RangeError(`row ${r} is outside [0, ${V - 1}]`);
    out.set(src.subarray(r * D, r * D + D), i * D);
  }
  return tf.tensor2d(out, [idx.length, D]);
}
