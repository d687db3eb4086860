// What a review of suspicious pairs can claim, pure so unit tests load it: which triage rows make
// the queue (the flagged part, not the whole file), the flip rate among the reviewed pairs with a
// Wilson interval, and when enough pairs were reviewed to offer a label_smoothing value.
import { TriageRow, noiseEstimate } from '../../protocol/triage-rank';

/** Decisions needed before a label_smoothing value is offered: below this the interval is too wide to act on. */
export const MIN_REVIEWED_FOR_SMOOTHING = 20;
/** Pairs queued when the model agrees with every label: the lowest margins, so a review still has something to look at. */
export const LOWEST_WHEN_NONE_FLAGGED = 10;

export interface FlaggedQueue {
  /** The queued rows, most suspicious first, each with its 1-based rank among all rows. */
  rows: (TriageRow & { rank: number })[];
  /** Rows scored (every pair of the file that could be scored). */
  scored: number;
  /** True when some pair has a negative margin (the tuned model prefers the rejected response). */
  flagged: boolean;
}

/**
 * The pairs a review queues: those whose margin is negative (σ(−margin) > 0.5: the tuned model
 * thinks the label is more likely wrong than right), in triage order. When there is none, the
 * few with the lowest margins, and `flagged` false so the command can say so.
 */
export function flaggedQueue(rows: TriageRow[]): FlaggedQueue {
  const ranked = rows.map((r, i) => ({ ...r, rank: i + 1 }));
  const negative = ranked.filter((r) => r.margin < 0);
  if (negative.length > 0) return { rows: negative, scored: rows.length, flagged: true };
  return { rows: ranked.slice(0, LOWEST_WHEN_NONE_FLAGGED), scored: rows.length, flagged: false };
}

/** The Wilson score interval for k successes in n trials (95% with z = 1.96); [0, 1] when n is 0. */
export function wilsonInterval(k: number, n: number, z = 1.96): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface ReviewEstimate {
  flips: number;
  reviewed: number;
  /** Flips among the reviewed pairs, and its 95% Wilson interval. */
  rate: number;
  low: number;
  high: number;
  /** Share of the file's pairs estimated mislabeled after the review (noiseEstimate). */
  remainingRate: number;
  /** The conservative-DPO ε to offer, or undefined until `MIN_REVIEWED_FOR_SMOOTHING` decisions. */
  labelSmoothing?: number;
  /** Decisions still needed before a label_smoothing value is offered (0 once it is). */
  moreNeeded: number;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The estimate after `flips` of `reviewed` queued pairs were flipped, of `total` pairs in the file. */
export function reviewEstimate(flips: number, reviewed: number, total: number): ReviewEstimate {
  const n = noiseEstimate(flips, reviewed, total);
  const { low, high } = wilsonInterval(flips, reviewed);
  const moreNeeded = Math.max(0, MIN_REVIEWED_FOR_SMOOTHING - reviewed);
  return {
    flips,
    reviewed,
    rate: n.reviewedRate,
    low,
    high,
    remainingRate: n.remainingRate,
    labelSmoothing: moreNeeded ? undefined : n.labelSmoothing,
    moreNeeded,
  };
}

/** The status bar's words for the flip rate: the count, the share and its interval ("2 of 3 flipped: 67% (21–94%)"). */
export function rateText(e: ReviewEstimate): string {
  if (e.reviewed === 0) return 'nothing reviewed yet';
  return `${e.flips} of ${e.reviewed} flipped: ${pct(e.rate)} (95% interval ${Math.round(e.low * 100)}–${pct(e.high)})`;
}

/** What the review can suggest for label_smoothing now, or how many more decisions it needs first. */
export function smoothingText(e: ReviewEstimate, queued: number): string {
  if (e.labelSmoothing !== undefined)
    return `suggested label_smoothing ${e.labelSmoothing} (≈ ${(e.remainingRate * 100).toFixed(1)}% of the file's pairs left mislabeled)`;
  const canReach = queued >= MIN_REVIEWED_FOR_SMOOTHING;
  return canReach
    ? `a label_smoothing value is offered after ${MIN_REVIEWED_FOR_SMOOTHING} reviewed pairs: ${e.moreNeeded} more`
    : `a label_smoothing value needs ${MIN_REVIEWED_FOR_SMOOTHING} reviewed pairs; this queue holds ${queued}, too few to estimate the rate`;
}
