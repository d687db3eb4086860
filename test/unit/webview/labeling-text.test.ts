import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatTime, headerOf, progressOf, sideTitle } from '../../../webview/labeling/view-text';

describe('labeling editor text', () => {
  it('shows a label time as a date people read, not the raw ISO string', () => {
    const shown = formatTime('2026-03-04T05:06:07.123Z', 'en-GB');
    assert.doesNotMatch(shown, /T05:06|Z$/, shown);
    assert.match(shown, /2026/);
    assert.match(shown, /Mar/);
    assert.equal(formatTime('yesterday'), 'yesterday', 'text that is not a date is shown as it is');
  });

  it('says which side was chosen in words, and nothing in blind mode', () => {
    assert.equal(sideTitle(0, 'a', 'a', false), '1 · Left (a) — ✓ chosen');
    assert.equal(sideTitle(1, 'b', 'a', false), '2 · Right (b) — ✗ rejected');
    assert.equal(sideTitle(1, 'b', 'tie', false), '2 · Right (b)');
    assert.equal(sideTitle(0, 'a', 'a', true), '1 · Left');
  });

  it('gives the progress as a whole percentage that reaches 100 only when all are decided', () => {
    const counts = { pairs: 1000, labeled: 990, tie: 5, skip: 4, left: 1, bad: 0, pending: 0 };
    assert.deepEqual(progressOf(counts), { done: 999, total: 1000, percent: 99 });
    assert.equal(progressOf({ ...counts, left: 0 }).percent, 100);
    assert.equal(progressOf({ pairs: 0, labeled: 0, tie: 0, skip: 0, left: 0, bad: 0, pending: 0 }).percent, 0);
  });

  it("shows the review queue's progress in review mode, not the file's (a reviewed file is labeled throughout)", () => {
    const labeled = { pairs: 300, labeled: 300, tie: 0, skip: 0, left: 0, bad: 0, pending: 0 };
    assert.deepEqual(headerOf(labeled), { text: '300 labeled · 0 tie · 0 skipped · 0 left', percent: 100, valueText: '300 of 300 decided' });
    assert.deepEqual(headerOf({ ...labeled, review: { reviewed: 2, queued: 6 } }), {
      text: 'review: 2 of 6 confirmed or flipped · 33%',
      percent: 33,
      valueText: '2 of 6 reviewed',
    });
    assert.equal(headerOf({ ...labeled, review: { reviewed: 0, queued: 6 } }).percent, 0);
    assert.equal(headerOf({ ...labeled, review: { reviewed: 6, queued: 6 } }).percent, 100);
    assert.equal(headerOf({ ...labeled, review: { reviewed: 0, queued: 0 } }).percent, 0, 'an empty queue is not NaN%');
  });
});
