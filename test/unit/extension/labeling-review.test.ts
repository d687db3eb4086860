// The review of suspicious pairs and files that come labeled: which triage rows are queued, what the
// flip rate can claim (Wilson interval, no label_smoothing before enough decisions), and the count
// of lines labeled in the file that the header shows apart.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { TriageRow } from '../../../src/protocol/triage-rank';
import {
  LOWEST_WHEN_NONE_FLAGGED,
  MIN_REVIEWED_FOR_SMOOTHING,
  flaggedQueue,
  rateText,
  reviewEstimate,
  smoothingText,
  wilsonInterval,
} from '../../../src/extension/labeling/review-estimate';
import { LineIndex } from '../../../src/extension/labeling/line-index';
import { applyDecision } from '../../../src/extension/labeling/pair-line';
import { parseHostToLabel } from '../../../src/protocol';

const row = (line: number, margin: number): TriageRow => ({ line, margin, score: 1 / (1 + Math.exp(margin)), agreement: margin < 0 ? 1 : 0 });

describe('review queue: the flagged part of the file', () => {
  it('queues only the pairs with a negative margin, in triage order, each with its rank among all', () => {
    const rows = [row(7, -2), row(3, -0.5), row(9, 0.1), row(1, 0.4), row(2, 3)];
    const q = flaggedQueue(rows);
    assert.equal(q.flagged, true);
    assert.equal(q.scored, 5);
    assert.deepEqual(
      q.rows.map((r) => [r.line, r.rank]),
      [
        [7, 1],
        [3, 2],
      ],
    );
  });

  it('with no negative margin, queues the lowest margins (not the whole file) and says none was flagged', () => {
    const rows = Array.from({ length: 298 }, (_, i) => row(i + 1, 0.01 * (i + 1)));
    const q = flaggedQueue(rows);
    assert.equal(q.flagged, false);
    assert.equal(q.rows.length, LOWEST_WHEN_NONE_FLAGGED);
    assert.deepEqual(
      q.rows.map((r) => r.rank),
      Array.from({ length: LOWEST_WHEN_NONE_FLAGGED }, (_, i) => i + 1),
    );
    assert.equal(flaggedQueue([row(1, 1), row(2, 2)]).rows.length, 2);
  });
});

describe('review estimate: an interval, and label_smoothing only after enough decisions', () => {
  it('gives the Wilson score interval (1 of 3 flipped: 6.1% to 79.2%)', () => {
    const w = wilsonInterval(1, 3);
    assert.ok(Math.abs(w.low - 0.0615) < 5e-4, String(w.low));
    assert.ok(Math.abs(w.high - 0.7923) < 5e-4, String(w.high));
    const none = wilsonInterval(0, 20);
    assert.equal(none.low, 0);
    assert.ok(Math.abs(none.high - 0.1611) < 5e-4, String(none.high));
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
    assert.ok(wilsonInterval(10, 100).high - wilsonInterval(10, 100).low < wilsonInterval(1, 10).high - wilsonInterval(1, 10).low, 'more decisions, narrower');
  });

  it('offers no label_smoothing after 3 decisions, says how many more are needed, and offers one at 20', () => {
    const early = reviewEstimate(1, 3, 298);
    assert.equal(early.labelSmoothing, undefined);
    assert.equal(early.moreNeeded, MIN_REVIEWED_FOR_SMOOTHING - 3);
    assert.equal(rateText(early), '1 of 3 flipped: 33% (95% interval 6–79%)');
    assert.equal(smoothingText(early, 40), 'a label_smoothing value is offered after 20 reviewed pairs: 17 more');
    assert.match(smoothingText(early, 5), /this queue holds 5, too few/);
    const enough = reviewEstimate(5, 20, 100);
    assert.equal(enough.moreNeeded, 0);
    assert.equal(enough.labelSmoothing, 0.2);
    assert.match(smoothingText(enough, 40), /^suggested label_smoothing 0\.2 /);
  });
});

describe('line index: pairs that came labeled are counted apart', () => {
  const given = (i: number) => JSON.stringify({ prompt: `p${i}`, chosen: `good ${i}`, rejected: `bad ${i}` });
  const lines = [given(0), given(1), JSON.stringify({ prompt: 'q', responses: ['x', 'y'] }), given(3)];
  const index = new LineIndex({
    get lineCount() {
      return lines.length;
    },
    lineAt: (i: number) => lines[i],
  });

  it('counts chosen/rejected lines without a label as given, and a decision here takes a line out of it', () => {
    while (index.scan(100) > 0);
    assert.deepEqual(index.counts(), { pairs: 4, labeled: 3, tie: 0, skip: 0, left: 1, bad: 0, pending: 0, given: 3 });
    lines[1] = applyDecision(lines[1], 'b', { annotator: 'r', time: '2026-12-03T00:00:00.000Z' });
    index.splice({ start: 1, removed: 1, added: 1 });
    assert.equal(index.kind(1), 'b');
    assert.equal(index.counts().given, 2);
    lines[3] = applyDecision(lines[3], 'tie', { annotator: 'r', time: '2026-12-03T00:00:00.000Z' });
    index.splice({ start: 3, removed: 1, added: 1 });
    index.scan(10);
    assert.deepEqual(index.counts(), { pairs: 4, labeled: 2, tie: 1, skip: 0, left: 1, bad: 0, pending: 0, given: 1 });
    lines.splice(0, 1);
    index.splice({ start: 0, removed: 1, added: 0 });
    index.scan(10);
    assert.equal(index.counts().given, 0, 'a removed line leaves the count');
  });
});

describe('labeling messages: the review card, the given count and a reset that names a line', () => {
  const view = { line: 3, kind: 'a', problems: [], swapped: false, prev: 1, next: 5 };
  it('accepts a pair view with its suspicion and counts with `given`, and rejects a malformed suspicion', () => {
    assert.ok(parseHostToLabel({ type: 'label/didShow', params: { pair: { ...view, suspicion: { margin: -0.5, rank: 2, of: 6 } } } }).ok);
    assert.equal(parseHostToLabel({ type: 'label/didShow', params: { pair: { ...view, suspicion: { margin: 'x', rank: 2, of: 6 } } } }).ok, false);
    const counts = { pairs: 3, labeled: 3, tie: 0, skip: 0, left: 0, bad: 0, pending: 0 };
    assert.ok(parseHostToLabel({ type: 'label/didCounts', params: { counts: { ...counts, given: 3 } } }).ok);
    assert.equal(parseHostToLabel({ type: 'label/didCounts', params: { counts: { ...counts, given: '3' } } }).ok, false);
    assert.ok(parseHostToLabel({ type: 'label/didReset', params: {} }).ok);
    assert.ok(parseHostToLabel({ type: 'label/didReset', params: { line: 4 } }).ok);
    assert.equal(parseHostToLabel({ type: 'label/didReset', params: { line: -1 } }).ok, false);
  });
});
