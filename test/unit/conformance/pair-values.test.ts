// test/conformance/pair-values: summed log-probs of a batch -> pairs.jsonl records, through the
// embedded engine's objective, readValues and pairRecords (the torch engine's pairs.py runs the same cases).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_CONFIG, DpoConfig, MetricsSplit, PairRecord } from '../../../src/protocol';
import { objective, readValues } from '../../../src/engine/train/objective';
import { pairRecords } from '../../../src/engine/train/pair-values';
import { TokenizedPair } from '../../../src/engine/data/tokenize';
import { implicitReward } from '../../../src/engine/dpo/implicit-reward';
import { loadCases } from './cases';

interface PairIn {
  line: number;
  policy_chosen: number;
  policy_rejected: number;
  reference_chosen: number;
  reference_rejected: number;
  chosen_len: number;
  rejected_len: number;
}
interface PairCase {
  engines: string[];
  loss_type: DpoConfig['loss_type'];
  /** Weights of a loss list (absent: 1 each). */
  loss_weights?: number[];
  beta: number;
  label_smoothing: number;
  step: number;
  split: MetricsSplit;
  pairs: PairIn[];
  expect?: PairRecord[];
  expect_error?: string;
}

async function records(c: PairCase): Promise<PairRecord[]> {
  const pairs: TokenizedPair[] = c.pairs.map((p) => ({
    line: p.line,
    promptIds: [1],
    chosenIds: new Array<number>(p.chosen_len).fill(2),
    rejectedIds: new Array<number>(p.rejected_len).fill(3),
    truncated: false,
  }));
  const config: DpoConfig = {
    ...DEFAULT_CONFIG,
    mode: 'dpo',
    loss_type: c.loss_type,
    loss_weights: c.loss_weights ?? null,
    beta: c.beta,
    label_smoothing: c.label_smoothing,
    sft_weight: 0,
  };
  const sums = tf.tensor1d([...c.pairs.map((p) => p.policy_chosen), ...c.pairs.map((p) => p.policy_rejected)]);
  const t = tf.tidy(() =>
    objective(
      { sums, logitSums: tf.zeros([2 * pairs.length]) },
      [...c.pairs.map((p) => p.reference_chosen), ...c.pairs.map((p) => p.reference_rejected)],
      pairs,
      config,
    ),
  );
  return pairRecords(await readValues(t, pairs, 0), c.step, c.split);
}

const close = (got: number, want: number) => Math.abs(got - want) <= 1e-5 + 1e-5 * Math.abs(want);

for (const doc of loadCases<PairCase>('pair-values')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases.filter((x) => x.engines.includes('tfjs'))) {
      it(c.name, async () => {
        if (c.expect_error !== undefined) {
          await assert.rejects(records(c), (err: Error) => err.message.includes(c.expect_error!));
          return;
        }
        const got = await records(c);
        assert.equal(got.length, c.expect!.length);
        got.forEach((r, i) => {
          const want = c.expect![i];
          assert.deepEqual([r.step, r.split, r.line], [want.step, want.split, want.line]);
          for (const k of ['chosen_reward', 'rejected_reward', 'margin', 'loss'] as const)
            assert.ok(close(r[k], want[k]), `pair ${i} ${k}: ${r[k]} (expected ${want[k]})`);
          // The probe's, `dpo reward`'s and triage's function gives training's rewards.
          const p = c.pairs[i];
          assert.ok(close(implicitReward(p.policy_chosen, p.reference_chosen, c.beta), want.chosen_reward), `pair ${i}: implicitReward (chosen)`);
          assert.ok(close(implicitReward(p.policy_rejected, p.reference_rejected, c.beta), want.rejected_reward), `pair ${i}: implicitReward (rejected)`);
        });
      });
    }
  });
}
