// The reference precompute (computeRefLogps) must give, for the same weights, exactly the log-probs
// the training step's policy forward gives: at step 0 the policy is the reference, so every margin
// must be exactly 0 (dpo demo's held-out margin read −0.0000 when they differed by ~1e-6). The two
// batch differently (the precompute: chosen and rejected as separate rows sorted by length; the step:
// pair batches in data order, padded to the longest), so this holds only if every kernel's result
// for a row is independent of the other rows and of the padding: checked here, not assumed.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tempDir, tinyModel, useTestBackend } from '../helpers/fixtures';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { CausalLM } from '../../../src/engine/model/transformer';
import { computeRefLogps } from '../../../src/engine/dpo/ref-cache';
import { scorePairs } from '../../../src/engine/dpo/score-pairs';
import { pairBatch, policyForward } from '../../../src/engine/train/objective';
import { TokenizedPair } from '../../../src/engine/data/tokenize';
import { DEFAULT_CONFIG } from '../../../src/protocol';
import { GemmMode, closeGemmThreads, setGemmMode, setGemmThreads } from '../../../src/engine/kernels/gemm';
import { closeFusedAttentionThreads, setFusedAttentionThreads } from '../../../src/engine/kernels/attention';
import { Rng } from '../../../src/engine/rng';

const root = tempDir('ref-exact');
const PAD = 0;

/** Policy (trainable, as the step runs it) and a frozen copy (a reference_model folder), same weights, sharpened. */
function models(name: string, opts: Parameters<typeof tinyModel>[1]): { policy: CausalLM; frozen: CausalLM } {
  const { config, weights } = readModelWeights(tinyModel(path.join(root, name), opts));
  for (const [n, w] of weights) if (!/norm|ln_/.test(n)) w.data.forEach((v, i) => (w.data[i] = v * 15));
  return { policy: new CausalLM(config, weights, true), frozen: new CausalLM(config, weights, false) };
}

/** Pairs of very mixed lengths (an empty prompt among them), so each batching pads each row differently. */
function pairs(seed: number): TokenizedPair[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + (rng.nextUint32() % 258));
  const lens = [
    [3, 1, 17],
    [12, 40, 2],
    [0, 9, 5],
    [7, 5, 5],
    [30, 61, 4],
    [5, 3, 12],
    [4, 1, 1],
    [9, 14, 70],
    [2, 33, 33],
    [21, 6, 18],
    [1, 2, 90],
  ];
  return lens.map(([p, c, r], i) => ({ line: i + 1, promptIds: ids(p), chosenIds: ids(c), rejectedIds: ids(r), truncated: false }));
}

/** The training step's policy log-probs: micro-batches of `batchSize` pairs in data order, inside variableGrads as step.ts runs them. */
function stepLogps(policy: CausalLM, ps: TokenizedPair[], batchSize: number): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  const c = { ...DEFAULT_CONFIG, mode: 'dpo' as const, loss_type: 'sigmoid' as const };
  for (let i = 0; i < ps.length; i += batchSize) {
    const chunk = ps.slice(i, i + batchSize);
    let sums: tf.Tensor1D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const f = policyForward(policy, pairBatch(chunk, 'dpo', PAD), chunk, c);
      sums = tf.keep(f.sums);
      return tf.sum(f.sums) as tf.Scalar;
    }, policy.trainableVariables());
    const v = sums!.dataSync();
    chunk.forEach((p, j) => out.set(p.line, [v[j], v[chunk.length + j]]));
    tf.dispose([value, sums!, ...Object.values(grads)]);
  }
  return out;
}

function assertSame(got: Map<number, [number, number]>, want: Map<number, [number, number]>, what: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: lines`);
  for (const [line, [c, r]] of want) {
    const [gc, gr] = got.get(line)!;
    assert.ok(Object.is(gc, c) && Object.is(gr, r), `${what}, line ${line}: [${gc}, ${gr}] !== the step's [${c}, ${r}] (Δ ${gc - c}, ${gr - r})`);
  }
}

describe('reference precompute = the step-0 policy log-probs, bit for bit', () => {
  before(useTestBackend);
  after(() => {
    setGemmMode(undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  const families = [
    { name: 'gpt2', opts: { family: 'gpt2' as const, layers: 2, dModel: 32, heads: 4, seed: 5 } },
    { name: 'llama-gqa', opts: { family: 'llama' as const, layers: 2, dModel: 32, heads: 4, kvHeads: 2, untiedHead: true, seed: 6 } },
  ];
  // 'auto' is what runs; 'off' (XNNPACK's products) and 'on' (ours for every product) show that the
  // row independence is each GEMM's, not an accident of which one the shapes pick.
  const gemmModes: GemmMode[] = ['auto', 'off', 'on'];
  for (const fam of families) {
    for (const mode of gemmModes) {
      it(`${fam.name}, GEMM ${mode}: computeRefLogps === the training step's policy log-probs on every pair, any batching`, async () => {
        setGemmMode(mode);
        const { policy, frozen } = models(`${fam.name}-${mode}`, fam.opts);
        try {
          const ps = pairs(11);
          const want = stepLogps(policy, ps, 3);
          // The step's own values do not depend on its batching either (the property everything rests on).
          assertSame(stepLogps(policy, ps, 1), want, 'step, batches of 1');
          assertSame(stepLogps(policy, [...ps].reverse(), 4), want, 'step, batches of 4 in reverse order');
          const tensors = tf.memory().numTensors;
          for (const batchSize of [1, 2, 8]) {
            assertSame(await computeRefLogps(policy, ps, batchSize, PAD), want, `precompute on the policy, batch ${batchSize}`);
            assertSame(await computeRefLogps(frozen, ps, batchSize, PAD), want, `precompute on a frozen copy, batch ${batchSize}`);
          }
          assert.equal(tf.memory().numTensors, tensors, 'the precompute leaves no tensor behind');
          // The check has teeth: triage's scorer (float64 sums) is within 1e-5 but not bit-identical.
          const scored = await scorePairs(frozen, ps, { batchSize: 2, padId: PAD });
          const differ = ps.filter((p, i) => scored[i][0] !== want.get(p.line)![0] || scored[i][1] !== want.get(p.line)![1]);
          assert.ok(differ.length > 0, 'the float64 scorer should differ from the float32 step somewhere');
        } finally {
          policy.dispose();
          frozen.dispose();
          setGemmMode(undefined);
        }
      });
    }
    it(`${fam.name}: on 2 threads (GEMM and attention, forced at every size) the step and the precompute give the one-thread values`, async () => {
      const { policy, frozen } = models(`${fam.name}-threads`, fam.opts);
      try {
        const ps = pairs(12);
        const want = stepLogps(policy, ps, 3);
        setGemmThreads(2);
        setFusedAttentionThreads(2);
        assertSame(stepLogps(policy, ps, 3), want, 'step on 2 threads');
        assertSame(await computeRefLogps(frozen, ps, 2, PAD), want, 'precompute on 2 threads');
      } finally {
        setGemmThreads(undefined);
        setFusedAttentionThreads(undefined);
        closeGemmThreads();
        closeFusedAttentionThreads();
        policy.dispose();
        frozen.dispose();
      }
    });
  }
});
