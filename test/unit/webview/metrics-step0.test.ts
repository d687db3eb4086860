// Step 0's evaluation in the metrics panel: the policy is the reference, every pair ties, and the
// accuracy TRL logs (strict wins) reads 0. The run line must neither say "no eval yet" while that
// point is drawn nor present it as a failing 0%. The records below are the step-0 eval lines both
// engines wrote for `dpo train --max-steps 2 --eval-steps 2` on the tiny model and the example data
// (embedded engine and PyTorch engine, 2026-12-03), cut to the reward fields.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { REFERENCE_EVAL_TEXT, evalSummaryText, isReferenceEval } from '../../../webview/metrics/axis-values';
import { CHARTS, placeholderCharts } from '../../../webview/metrics/objective-charts';
import { metricValue, parseRunRecord } from '../../../src/protocol/run-folder';
import type { MetricsRecord } from '../../../src/protocol/run-folder';

const EMBEDDED_STEP0 =
  '{"kind":"metrics","split":"eval","step":0,"epoch":0,"eval_loss":0.6931471824645996,"eval_rewards/chosen":0,"eval_rewards/rejected":0,"eval_rewards/margins":0,"eval_rewards/accuracies":0}';
const TORCH_STEP0 =
  '{"kind": "metrics", "split": "eval", "step": 0, "epoch": 0.0, "eval_loss": 0.6931473016738892, "eval_rewards/chosen": 0.0, "eval_rewards/rejected": 0.0, "eval_rewards/accuracies": 0.0, "eval_rewards/margins": 0.0}';
const TORCH_STEP2 =
  '{"kind": "metrics", "split": "eval", "step": 2, "epoch": 0.03, "eval_loss": 0.693069577217102, "eval_rewards/chosen": 0.00020263195801817346, "eval_rewards/rejected": 5.1188471388741164e-05, "eval_rewards/accuracies": 0.875, "eval_rewards/margins": 0.00015144348253670614}';

function record(line: string): MetricsRecord {
  const r = parseRunRecord(JSON.parse(line));
  assert.ok(r.ok && r.value.kind === 'metrics', line);
  return r.value as MetricsRecord;
}

function isRef(r: MetricsRecord): boolean {
  return isReferenceEval(r.step, metricValue(r, 'rewards/chosen'), metricValue(r, 'rewards/rejected'), metricValue(r, 'rewards/margins'));
}

const fmt = (v: number) => v.toFixed(4);

describe('step 0 evaluation (policy = reference)', () => {
  it("both engines' step-0 eval records read as the reference against itself, later ones do not", () => {
    assert.equal(isRef(record(EMBEDDED_STEP0)), true);
    assert.equal(isRef(record(TORCH_STEP0)), true);
    assert.equal(isRef(record(TORCH_STEP2)), false);
    // A reference-free objective (SimPO, ORPO) has rewards at step 0: its accuracy there is real.
    assert.equal(isReferenceEval(0, -1.2, -1.5, 0.3), false);
    // A zero margin after step 0 is a measurement, not the reference against itself.
    assert.equal(isReferenceEval(50, 0, 0, 0), false);
  });

  it('the run line names the step-0 evaluation instead of "no eval yet" while its point is drawn', () => {
    assert.equal(evalSummaryText([], [], false, fmt), 'no eval yet');
    const only0 = evalSummaryText([0], [0], true, fmt);
    assert.notEqual(only0, 'no eval yet');
    assert.equal(only0, `eval at ${REFERENCE_EVAL_TEXT}`);
    assert.match(only0, /ties, not errors/);
    // A step-0 evaluation that is not the reference's (reference-free objectives) gives its margin.
    assert.equal(evalSummaryText([0], [0.3], false, fmt), 'eval at step 0: margin 0.3000');
    // Once there is an evaluation after step 0, the best of those.
    assert.equal(evalSummaryText([0, 2, 3], [0, 0.0003, 0.0004], true, fmt), 'best eval margin 0.0004');
  });

  it('chart frames before the first step are real charts, in the order the panel draws them', () => {
    const order = CHARTS.map((c) => c.id);
    for (const mode of ['dpo', 'kto', 'sft']) {
      const ids = placeholderCharts(mode);
      assert.ok(ids.length >= 4, mode);
      for (const id of ids) assert.ok(order.includes(id), `${mode}: ${id} is a chart`);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
        `${mode}: in chart order, so the frames sit where the charts will`,
      );
    }
    assert.ok(placeholderCharts('dpo').includes('accuracies'));
    assert.ok(!placeholderCharts('sft').includes('accuracies'), 'an SFT run logs no reward accuracy');
  });
});
