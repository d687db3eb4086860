import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { droppedLabelNote, formatTime, givenNote, headerOf, progressOf, sideTitle, suspicionText } from '../../../webview/labeling/view-text';

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
    assert.equal(headerOf(labeled).text, '300 labeled · 0 tie · 0 skipped · 0 left');
    assert.equal(headerOf(labeled).percent, 100);
    const review = headerOf({ ...labeled, review: { reviewed: 2, queued: 6 } });
    assert.deepEqual(
      [review.text, review.percent, review.barText, review.valueText],
      ['review: 2 of 6 confirmed or flipped · 33%', 33, '33%', '2 of 6 reviewed'],
    );
    assert.equal(headerOf({ ...labeled, review: { reviewed: 0, queued: 6 } }).percent, 0);
    assert.equal(headerOf({ ...labeled, review: { reviewed: 6, queued: 6 } }).percent, 100);
    assert.equal(headerOf({ ...labeled, review: { reviewed: 0, queued: 0 } }).percent, 0, 'an empty queue is not NaN%');
  });

  it('says when the pairs came labeled in the file, in the counts and in plain words above a pair', () => {
    const c = { pairs: 300, labeled: 300, tie: 0, skip: 0, left: 0, bad: 0, pending: 0, given: 300 };
    assert.equal(headerOf(c).text, '300 labeled (all as the file came) · 0 tie · 0 skipped · 0 left');
    assert.equal(headerOf({ ...c, given: 12 }).text, '300 labeled (12 as the file came) · 0 tie · 0 skipped · 0 left');
    for (const blind of [false, true]) assert.doesNotMatch(givenNote(blind), /chosen|rejected|responses|review/, 'no file-format words');
    assert.match(givenNote(false), /1 keeps that label, 2 swaps it/);
  });

  it('shows a tie or skip on a labeled line: the bar splits labeled from left out, and the text counts them', () => {
    const all = { pairs: 10, labeled: 10, tie: 0, skip: 0, left: 0, bad: 0, pending: 0 };
    const before = headerOf(all);
    assert.deepEqual([before.trainPercent, before.heldPercent, before.barText], [100, 0, '100% decided']);
    const after = headerOf({ ...all, labeled: 8, tie: 1, skip: 1 });
    assert.equal(after.percent, 100, 'still all decided');
    assert.deepEqual([after.trainPercent, after.heldPercent, after.barText], [80, 20, '100% decided · 2 left out of training']);
    assert.equal(after.valueText, '10 of 10 decided, 8 of them for training');
    assert.equal(droppedLabelNote(4, 'tie'), 'Line 4 was labeled; now a tie, so it is left out of training. Backspace undoes.');
  });

  it("says why a queued pair is suspicious: the model's margin and its rank", () => {
    assert.equal(
      suspicionText({ margin: -1.234, rank: 3, of: 298 }),
      'Suspicious: the tuned model prefers the rejected answer (margin −1.23), rank 3 of 298 pairs by how likely the label is wrong.',
    );
    assert.match(suspicionText({ margin: 0.1, rank: 1, of: 6 }), /barely prefers the chosen answer \(margin 0\.10\), rank 1 of 6/);
  });
});
