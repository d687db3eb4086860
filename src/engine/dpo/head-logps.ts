// The output head's log-probabilities at chosen positions, a chunk of positions at a time, so the
// [positions x vocabulary] logits (and softmax, and their gradient) exist for one chunk only. Each
// chunk is one custom-gradient op that saves only its hidden rows and recomputes the chunk's logits
// in the backward pass: memory grows with the chunk, not with length x vocabulary.
import * as tf from '@tensorflow/tfjs';
import { gemmApplies, product } from '../kernels/gemm';
import { gatherRows } from '../model/ops';
import { takeRows } from '../model/take-rows';

/** Floats in one chunk's [rows, vocab] logits: 2^24 (64 MB), about 330 positions at GPT-2's vocabulary. */
export const CHUNK_FLOATS = 1 << 24;

/** Positions per chunk for a vocabulary: the chunk's logits stay near CHUNK_FLOATS. */
export function chunkRows(vocabSize: number, floats = CHUNK_FLOATS): number {
  return Math.max(1, Math.floor(floats / vocabSize));
}

function logitsOf(h: tf.Tensor2D, head: tf.Tensor2D, cap: number | undefined): tf.Tensor2D {
  // A plain product against an explicit transposed copy: transposed products are 5-12x slower on
  // wasm (see ops.ts). The copy lives only inside the chunk's tidy. Or our GEMM, which packs instead.
  const raw = gemmApplies(h, head, false, true) ? product(h, head, false, true) : tf.matMul(h, tf.transpose(head));
  return (cap === undefined ? raw : tf.mul(tf.tanh(tf.div(raw, cap)), cap)) as tf.Tensor2D;
}

/**
 * For hidden rows h [C, D] and their next tokens `targets` [C] (int32): [C, 2] holding, per row,
 * log p(target) and the mean over the vocabulary of the (capped) logits. The gradient flows from
 * column 0 only (column 1 is TRL's logits/* metric) into h and the head [V, D].
 */
function chunkLogps(h: tf.Tensor2D, head: tf.Tensor2D, targets: tf.Tensor1D, cap: number | undefined): tf.Tensor2D {
  // A frozen head (LoRA's base, a reference) is captured rather than passed: a custom gradient
  // computes every input's gradient, and the head's is a [V, D] product per chunk, wasted when frozen.
  const frozen = head instanceof tf.Variable && !head.trainable;
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const hIn = args[0] as tf.Tensor2D;
    const headIn = frozen ? head : (args[1] as tf.Tensor2D);
    const save = args[frozen ? 1 : 2] as tf.GradSaveFunc;
    save([hIn, targets, ...(frozen ? [] : [headIn])]);
    const value = tf.tidy(() => {
      const logits = logitsOf(hIn, headIn, cap); // [C, V]
      const m = tf.max(logits, -1, true);
      const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), -1, true)), m); // [C, 1]
      const targetLogit = tf.sum(tf.mul(hIn, takeRows(headIn, targets)), 1, true); // [C, 1], raw
      const capped = cap === undefined ? targetLogit : tf.mul(tf.tanh(tf.div(targetLogit, cap)), cap);
      return tf.concat([tf.sub(capped, lse), tf.mean(logits, -1, true)], 1) as tf.Tensor2D;
    });
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [hS, tS, savedHead] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D | undefined];
      const headS = savedHead ?? head;
      return tf.tidy(() => {
        const [C] = hS.shape;
        const d = tf.slice(dy, [0, 0], [C, 1]); // [C, 1]: d loss / d log p(target)
        const logits = logitsOf(hS, headS, cap);
        const m = tf.max(logits, -1, true);
        const e = tf.exp(tf.sub(logits, m));
        const p = tf.div(e, tf.sum(e, -1, true)); // softmax [C, V]
        // d log p(t) / d logit_v = [v = t] - p_v; through the cap, times 1 - (capped/cap)^2.
        let g = tf.neg(tf.mul(p, d)); // [C, V], the dense part
        const headRows = takeRows(headS, tS); // [C, D]
        let a = d; // [C, 1], the target part's coefficient
        if (cap !== undefined) {
          g = tf.mul(g, tf.sub(1, tf.square(tf.div(logits, cap))));
          const raw = tf.sum(tf.mul(hS, headRows), 1, true);
          a = tf.mul(a, tf.sub(1, tf.square(tf.tanh(tf.div(raw, cap)))));
        }
        const g2 = g as tf.Tensor2D;
        const dh = tf.add(gemmApplies(g2, headS, false, false) ? product(g2, headS, false, false) : tf.matMul(g, headS), tf.mul(headRows, a)); // [C, D]
        if (frozen) return [dh];
        const gTh = gemmApplies(g2, hS, true, false) ? product(g2, hS, true, false) : tf.matMul(tf.transpose(g), hS);
        const dHead = tf.add(gTh, tf.scatterND(tf.expandDims(tS, 1), tf.mul(hS, a), headS.shape)); // [V, D]
        return [dh, dHead];
      });
    };
    return { value, gradFunc };
  });
  return (frozen ? fn(h) : fn(h, head)) as tf.Tensor2D;
}

/**
 * Rows `rows` [P] (int32) of the hidden states `hidden` [N, D] scored against `targets` [P]:
 * [P, 2] of (log p(target), vocabulary-mean logit), `rowsPerChunk` positions at a time.
 */
export function headLogps(
  hidden: tf.Tensor2D,
  head: tf.Tensor2D,
  rows: tf.Tensor1D,
  targets: tf.Tensor1D,
  cap: number | undefined,
  rowsPerChunk = chunkRows(head.shape[0]),
): tf.Tensor2D {
  const P = rows.shape[0];
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < P; start += rowsPerChunk) {
    const size = Math.min(rowsPerChunk, P - start);
    const chunkRowsIdx = tf.slice(rows, start, size);
    const chunkTargets = tf.slice(targets, start, size);
    parts.push(chunkLogps(gatherRows(hidden, chunkRowsIdx), head, chunkTargets, cap));
  }
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
}
