// Each run-config field that changes the DPO/SFT math, checked through the trainer: one step on a
// sharpened tiny model, and the run folder's first metrics, per-pair records and evals compared
// with an independent float64 computation (helpers/dpo-oracle.ts). A field that is ignored or
// wired to the wrong place changes at least one of these numbers.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, useTestBackend } from '../helpers/fixtures';
import { PairExpect, PairText, StepOptions, byteIds, expectMetrics, expectPairs, naiveModel } from '../helpers/dpo-oracle';
import { FlatMetrics, RunRead, WIRING_PAIRS, close, pairsAt, sharpModel, wiringRun, writePairs } from '../helpers/wiring-runs';

const root = tempDir('wiring');
const policyDir = path.join(root, 'policy');
const refDir = path.join(root, 'reference');
const data = path.join(root, 'pairs.jsonl');

function checkMetrics(what: string, got: FlatMetrics | undefined, want: Record<string, number>): void {
  assert.ok(got, `${what}: no metrics record`);
  for (const [k, v] of Object.entries(want)) close(`${what} ${k}`, got[k], v);
}

/** The logged metrics and every pair record of a step (train or eval) against expected pairs. */
function checkStep(run: RunRead, step: number, split: 'train' | 'eval', per: PairExpect[], mode: 'dpo' | 'sft' = 'dpo'): void {
  const prefix = split === 'eval' ? 'eval_' : '';
  checkMetrics(`${split} step ${step}`, (split === 'eval' ? run.evals : run.train).get(step), expectMetrics(per, prefix, mode));
  const records = pairsAt(run, step, split);
  assert.deepEqual([...records.keys()].sort(), per.map((p) => p.line).sort(), `${split} step ${step}: pair lines`);
  for (const p of per) {
    const r = records.get(p.line)!;
    const at = `${split} step ${step} line ${p.line}`;
    close(`${at} loss`, r.loss, p.loss);
    if (mode === 'sft') continue;
    close(`${at} chosen_reward`, r.chosen_reward, p.chosenReward);
    close(`${at} rejected_reward`, r.rejected_reward, p.rejectedReward);
    close(`${at} margin`, r.margin, p.chosenReward - p.rejectedReward);
  }
}

interface Case {
  name: string;
  fields: Record<string, unknown>;
  oracle: StepOptions;
  /** The reference is the starting policy (reference_model null). */
  selfReference?: boolean;
  rows?: PairText[];
  truncation?: { maxLength: number; maxPromptLength?: number | null };
}

const cases: Case[] = [
  { name: 'sigmoid: rewards are β·(policy − reference) with a separate reference model', fields: { beta: 0.3 }, oracle: { beta: 0.3 } },
  { name: 'beta reaches the loss and the rewards', fields: { beta: 0.05 }, oracle: { beta: 0.05 } },
  { name: 'label_smoothing (cDPO)', fields: { beta: 0.3, label_smoothing: 0.2 }, oracle: { beta: 0.3, labelSmoothing: 0.2 } },
  { name: 'ipo on per-token mean log-probs', fields: { beta: 0.3, loss_type: 'ipo' }, oracle: { beta: 0.3, lossType: 'ipo' } },
  { name: 'hinge', fields: { beta: 0.3, loss_type: 'hinge' }, oracle: { beta: 0.3, lossType: 'hinge' } },
  { name: 'reference_free: the reference counts as 0', fields: { beta: 0.3, reference_free: true }, oracle: { beta: 0.3, referenceFree: true } },
  {
    name: 'sft_weight (deprecated) adds the "sft" term: the NLL over all chosen tokens of the batch (RPO)',
    fields: { beta: 0.3, sft_weight: 0.5 },
    oracle: { beta: 0.3, sftWeight: 0.5 },
  },
  {
    name: 'loss_type ["sigmoid","sft"] with loss_weights [1, 0.5] is that same RPO objective',
    fields: { beta: 0.3, loss_type: ['sigmoid', 'sft'], loss_weights: [1, 0.5] },
    oracle: {
      beta: 0.3,
      terms: [
        { type: 'sigmoid', weight: 1 },
        { type: 'sft', weight: 0.5 },
      ],
    },
  },
  {
    name: 'a weighted list (MPO: sigmoid 0.8, bco_pair 0.2, sft 1.0)',
    fields: { beta: 0.3, loss_type: ['sigmoid', 'bco_pair', 'sft'], loss_weights: [0.8, 0.2, 1.0] },
    oracle: {
      beta: 0.3,
      terms: [
        { type: 'sigmoid', weight: 0.8 },
        { type: 'bco_pair', weight: 0.2 },
        { type: 'sft', weight: 1.0 },
      ],
    },
  },
  {
    name: 'a list mixing summed (hinge) and per-token mean (ipo) members, each weighted',
    fields: { beta: 0.3, loss_type: ['hinge', 'ipo'], loss_weights: [0.25, 2] },
    oracle: {
      beta: 0.3,
      terms: [
        { type: 'hinge', weight: 0.25 },
        { type: 'ipo', weight: 2 },
      ],
    },
  },
  { name: 'bco_pair', fields: { beta: 0.3, loss_type: 'bco_pair' }, oracle: { beta: 0.3, lossType: 'bco_pair' } },
  { name: 'precompute_ref_log_probs gives the live reference numbers', fields: { beta: 0.3, precompute_ref_log_probs: true }, oracle: { beta: 0.3 } },
  {
    name: 'ipo with precomputed reference means',
    fields: { beta: 0.3, loss_type: 'ipo', precompute_ref_log_probs: true },
    oracle: { beta: 0.3, lossType: 'ipo' },
  },
  {
    name: 'reference_model null: a frozen copy of the starting policy',
    fields: { beta: 0.3, reference_model: null },
    oracle: { beta: 0.3 },
    selfReference: true,
  },
  { name: 'mode sft: token-mean NLL of the chosen responses', fields: { mode: 'sft', reference_model: null }, oracle: { beta: 0.1, mode: 'sft' } },
  {
    name: 'max_length and max_prompt_length: prompt keeps its end, responses their start',
    fields: { beta: 0.3, max_length: 14, max_prompt_length: 8 },
    oracle: { beta: 0.3 },
    truncation: { maxLength: 14, maxPromptLength: 8 },
  },
  {
    name: 'max_length alone: a prompt that fills it drops the pair; one token of room keeps it',
    fields: { beta: 0.3, max_length: 20 },
    oracle: { beta: 0.3 },
    truncation: { maxLength: 20 },
  },
];

describe('trainer wiring: first-step metrics against an independent computation', () => {
  before(async () => {
    await useTestBackend();
    sharpModel(policyDir, 1);
    sharpModel(refDir, 2);
    writePairs(data);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const c of cases) {
    it(c.name, async () => {
      const dir = path.join(root, c.name.replace(/\W+/g, '-').slice(0, 40));
      const run = await wiringRun(dir, { model: policyDir, reference_model: refDir, data, eval_data: data, ...c.fields });
      const ids = byteIds(c.rows ?? WIRING_PAIRS, c.truncation ?? { maxLength: 64 });
      const policy = naiveModel(policyDir);
      const reference = naiveModel(c.selfReference || c.oracle.mode === 'sft' ? policyDir : refDir);
      const first = expectPairs(ids, policy, reference, c.oracle);
      const mode = c.oracle.mode ?? 'dpo';
      // The step-1 metrics are of the policy before its update; eval at 0 sees the same policy.
      checkStep(run, 1, 'train', first, mode);
      checkStep(run, 0, 'eval', first, mode);
      // The closing eval sees the updated policy against the same (frozen) reference.
      checkStep(run, 1, 'eval', expectPairs(ids, naiveModel(run.result!.finalDir!), reference, c.oracle), mode);
      if (c.selfReference) assert.ok(Math.abs(run.evals.get(1)!['eval_rewards/margins']) > 1e-4, 'the trained policy moved away from its reference');
    });
  }
});
