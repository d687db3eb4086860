import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Ema } from '../../../webview/metrics/smoothing';
import { decimate } from '../../../webview/metrics/decimate';
import { bestEvalMargin, scientificTicks } from '../../../webview/metrics/axis-values';

describe('metrics chart helpers', () => {
  it('EMA smoothing is de-biased like TensorBoard (the first point is the first value)', () => {
    const e = new Ema(0.6);
    const out = [1, 2, 3].map((y) => e.next(y));
    assert.ok(Math.abs(out[0] - 1) < 1e-12);
    // last = 0.6*0.4 + 0.4*2 = 1.04; debias 1 - 0.36 = 0.64 -> 1.625
    assert.ok(Math.abs(out[1] - 1.625) < 1e-12);
    assert.ok(Number.isNaN(new Ema(0.5).next(NaN)), 'NaN passes through');
    assert.equal(new Ema(0).next(7), 7, 'weight 0 is no smoothing');
  });

  it("decimation keeps every bucket's min and max in order, so spikes survive", () => {
    const n = 10_000;
    const x = Array.from({ length: n }, (_, i) => i);
    const y = x.map((i) => (i === 5_123 ? 100 : i === 7_777 ? -50 : Math.sin(i / 100)));
    const d = decimate(x, [y], 0, n, 400);
    assert.ok(d.x.length <= 404, `${d.x.length} points`);
    assert.equal(Math.max(...d.ys[0]), 100);
    assert.equal(Math.min(...d.ys[0]), -50);
    assert.deepEqual(
      d.x,
      [...d.x].sort((a, b) => a - b),
      'x stays sorted',
    );
    const small = decimate([1, 2, 3], [[4, 5, 6]], 0, 3, 400);
    assert.deepEqual(small, { x: [1, 2, 3], ys: [[4, 5, 6]] }, 'short series are drawn as they are');
    const zoomed = decimate(x, [y], 5_000, 5_200, 400);
    assert.equal(zoomed.x.length, 200, 'a zoomed range is drawn at full resolution');
  });

  it('learning-rate ticks read in scientific notation, not "0, 0, 0"', () => {
    assert.deepEqual(scientificTicks([0, 5e-7, 1e-6, 1.5e-6]), ['0', '5.0e-7', '1.0e-6', '1.5e-6']);
  });

  it('the best eval margin ignores the step-0 evaluation of the reference model', () => {
    assert.ok(Number.isNaN(bestEvalMargin([0], [0])), 'only step 0: nothing to show');
    assert.equal(bestEvalMargin([0, 50, 100], [0, 0.4, 0.3]), 0.4);
    assert.ok(Number.isNaN(bestEvalMargin([0, 50], [0.9, NaN])), 'a NaN evaluation is not a best');
  });
});
