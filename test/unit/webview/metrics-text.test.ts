import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { chartAltText, clockTicks, firstLine, formatClock, readoutAt, runStateText, zoomAround } from '../../../webview/metrics/text';

describe('metrics panel words', () => {
  it('wall time reads as a clock, with hours only once there are any', () => {
    assert.equal(formatClock(3725), '1:02:05');
    assert.equal(formatClock(125), '2:05');
    assert.equal(formatClock(5.4), '0:05');
    assert.equal(formatClock(36000), '10:00:00');
    assert.equal(formatClock(NaN), '–');
    assert.deepEqual(clockTicks([0, 60, 3600]), ['0:00', '1:00', '1:00:00']);
  });

  it("a hover past a run's end says where it ended instead of repeating its last value", () => {
    assert.equal(readoutAt(300, 204, 204, '0.4100'), 'ended at step 204');
    assert.equal(readoutAt(204, 204, 204, '0.4100'), '0.4100');
    // Wall-time mode: x is seconds, the step is still named.
    assert.equal(readoutAt(90, 61.5, 30, '0.5'), 'ended at step 30');
    assert.equal(readoutAt(5, undefined, undefined, '–'), 'no data');
  });

  it('a stopped run with a checkpoint says it can be resumed, with its step of the total', () => {
    assert.equal(runStateText('stopped', 12, 40, true), 'stopped at step 12 of 40 — resumable');
    assert.equal(runStateText('running', 12, 40, false), 'running · step 12/40');
    assert.equal(runStateText('ended', 7, undefined, false), 'ended · step 7');
  });

  it("a chart's text alternative names the runs, the last step and each run's last value", () => {
    assert.equal(
      chartAltText('Loss', 2, [
        { name: 'run-a', step: 204, value: '0.41' },
        { name: 'run-b', step: 150, value: '0.52' },
      ]),
      'Loss chart, 2 runs, last step 204: run-a 0.41, run-b 0.52',
    );
    assert.equal(chartAltText('Loss', 0, []), 'Loss chart, no data yet');
  });

  it('keyboard zoom halves the range around the cursor and stays inside the data', () => {
    assert.deepEqual(zoomAround([0, 100], 50, 0.5, 0, 100), [25, 75]);
    // The cursor keeps its place in the plot: at 80% of the range before and after.
    assert.deepEqual(zoomAround([0, 100], 80, 0.5, 0, 100), [40, 90]);
    assert.deepEqual(zoomAround([0, 100], 100, 0.5, 0, 100), [50, 100]);
    assert.deepEqual(zoomAround([25, 75], 50, 2, 0, 100), [0, 100], 'zooming out never goes past the data');
    assert.deepEqual(zoomAround([80, 100], 100, 2, 0, 100), [60, 100]);
  });

  it('drill-down rows show the first line of a text, cut', () => {
    assert.equal(firstLine('\n  The sky is blue.\nIt is.'), 'The sky is blue.');
    assert.equal(firstLine('x'.repeat(200), 10), `${'x'.repeat(9)}…`);
  });
});
