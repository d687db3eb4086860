// What the labeling editor prints about a pair and the file: the time a label was made, the side
// titles (the choice said in words, not by colour alone) and the progress. Pure, so unit tests load it.
import type { LabelCountsView, LabelLineKind } from '../../src/protocol/webview';

/** A line's kind in the badge above the pair. */
export const KIND_TEXT: Record<LabelLineKind, string> = {
  todo: 'to label',
  a: 'labeled',
  b: 'labeled',
  tie: 'tie',
  skip: 'skipped',
  bad: 'cannot be used for training',
  blank: 'blank',
};

/** A label's time as people read it ("4 Mar 2026, 05:06"), or the text itself when it is not a date. */
export function formatTime(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A response column's title: its key and side, its file letter unless blind, and whether it was chosen. */
export function sideTitle(side: 0 | 1, letter: 'a' | 'b', kind: LabelLineKind, blind: boolean): string {
  const base = side === 0 ? '1 · Left' : '2 · Right';
  if (blind) return base;
  const mark = kind === letter ? ' — ✓ chosen' : kind === 'a' || kind === 'b' ? ' — ✗ rejected' : '';
  return `${base} (${letter})${mark}`;
}

/** An unpaired completion's title: its label in words (kind "a" is thumbs up), hidden when blind. */
export function thumbTitle(kind: LabelLineKind, blind: boolean): string {
  if (blind || (kind !== 'a' && kind !== 'b')) return 'Completion';
  return kind === 'a' ? 'Completion — 👍 desirable (label true)' : 'Completion — 👎 undesirable (label false)';
}

/** Lines decided (labeled, tie or skipped) of all pair lines, and the whole percentage. */
export function progressOf(c: LabelCountsView): { done: number; total: number; percent: number } {
  const done = c.labeled + c.tie + c.skip;
  const total = done + c.left;
  return { done, total, percent: total ? Math.floor((100 * done) / total) : 0 };
}

export interface HeaderView {
  text: string;
  /** Decided (or reviewed) share, the bar's value. */
  percent: number;
  /** Of the bar: the share labeled a/b (trained on) and the share tied or skipped (decided, left out). */
  trainPercent: number;
  heldPercent: number;
  /** Beside the bar. */
  barText: string;
  valueText: string;
}

/**
 * The header's counts line and progress bar. In review mode the queue's progress (pairs confirmed or
 * flipped of those queued), since a file under review is usually labeled throughout; else the file's,
 * with ties and skips apart from labels: both are decided, but only labels train.
 */
export function headerOf(c: LabelCountsView): HeaderView {
  if (c.review) {
    const { reviewed, queued } = c.review;
    const percent = queued ? Math.floor((100 * Math.min(reviewed, queued)) / queued) : 0;
    return {
      text: `review: ${reviewed.toLocaleString()} of ${queued.toLocaleString()} confirmed or flipped · ${percent}%`,
      percent,
      trainPercent: percent,
      heldPercent: 0,
      barText: `${percent}%`,
      valueText: `${reviewed} of ${queued} reviewed`,
    };
  }
  const pending = c.pending > 0 ? ` · indexing… ${c.pending.toLocaleString()} lines to go` : '';
  const { done, total, percent } = progressOf(c);
  const held = c.tie + c.skip;
  const trainPercent = total ? Math.floor((100 * c.labeled) / total) : 0;
  const given = c.given ? ` (${c.given === c.labeled ? 'all' : c.given.toLocaleString()} as the file came)` : '';
  return {
    text:
      `${c.labeled.toLocaleString()} labeled${given} · ${c.tie.toLocaleString()} tie · ${c.skip.toLocaleString()} skipped · ${c.left.toLocaleString()} left` +
      (c.bad ? ` · ${c.bad.toLocaleString()} with problems` : '') +
      pending,
    percent,
    trainPercent,
    heldPercent: percent - trainPercent,
    barText: held ? `${percent}% decided · ${held.toLocaleString()} left out of training` : `${percent}% decided`,
    valueText: `${done} of ${total} decided, ${c.labeled} of them for training`,
  };
}

/** The note above a pair that came labeled (chosen/rejected in the file): what it is and what the keys do. */
export function givenNote(blind: boolean): string {
  return blind
    ? 'This pair came labeled in the file. Pick the better side: the label is kept or swapped to match.'
    : 'This pair came labeled in the file: left is the answer marked better. 1 keeps that label, 2 swaps it.';
}

/** The line a queued pair's card starts with: why the review put it here. */
export function suspicionText(s: { margin: number; rank: number; of: number }): string {
  const sign = s.margin < 0 ? '−' : '';
  const margin = `${sign}${Math.abs(s.margin).toFixed(2)}`;
  const side = s.margin < 0 ? 'prefers the rejected answer' : 'barely prefers the chosen answer';
  return `Suspicious: the tuned model ${side} (margin ${margin}), rank ${s.rank.toLocaleString()} of ${s.of.toLocaleString()} pairs by how likely the label is wrong.`;
}

/** What a tie or skip did to a line that held a label (it leaves training; Backspace brings it back). */
export function droppedLabelNote(line: number, d: 'tie' | 'skip'): string {
  return `Line ${line} was labeled; now ${d === 'tie' ? 'a tie' : 'skipped'}, so it is left out of training. Backspace undoes.`;
}
