// A review queue for the labeling editor: the flagged lines of a data file in `dpo triage` order
// (most likely mislabeled first). The editor walks the queue instead of the file; a flip (decision
// "b") or a confirmation ("a") is an ordinary decision, recorded with annotator and time. The queue
// counts them and shows the flips, the flip rate with its interval, and (after enough decisions)
// the conservative-DPO suggestion.
import * as vscode from 'vscode';
import { ReviewEstimate, rateText, reviewEstimate, smoothingText } from './review-estimate';

export interface ReviewQueueSpec {
  /** 0-based lines, most suspicious first. */
  lines: number[];
  /** Pairs in the file (the denominator of the noise estimate). */
  total: number;
  /** The run whose model ranked the pairs (its config seeds the suggested run config). */
  runDir?: string;
  /** Per queued 0-based line: the tuned model's margin and its rank among the `total` pairs scored. */
  why?: Map<number, { margin: number; rank: number }>;
}

const pending = new Map<string, ReviewQueueSpec>();
let active: ReviewQueue | undefined;
/** Labeling sessions open now, by document URI: a review of an open file goes to its editor. */
const open = new Map<string, (queue: ReviewQueue) => void>();

/**
 * Queues a review for the labeling editor on `uri`: the one open now (true; the caller reveals it),
 * else the next one opened (false).
 */
export function setReviewQueue(uri: vscode.Uri, spec: ReviewQueueSpec): boolean {
  const attach = open.get(uri.toString());
  if (attach) {
    attach(new ReviewQueue(spec));
    return true;
  }
  pending.set(uri.toString(), spec);
  return false;
}

/** A labeling session on `uri` takes reviews started while it is open; the returned disposable ends that. */
export function acceptReviews(uri: vscode.Uri, attach: (queue: ReviewQueue) => void): vscode.Disposable {
  const key = uri.toString();
  open.set(key, attach);
  return new vscode.Disposable(() => open.get(key) === attach && open.delete(key));
}

export function takeReviewQueue(uri: vscode.Uri): ReviewQueue | undefined {
  const spec = pending.get(uri.toString());
  pending.delete(uri.toString());
  return spec ? new ReviewQueue(spec) : undefined;
}

/** The queue of the labeling editor opened last by DPO: Review Suspicious Pairs. */
export function activeReviewQueue(): ReviewQueue | undefined {
  return active;
}

export const SUGGEST_CONFIG_COMMAND = 'dpo.writeNoiseAwareConfig';

export class ReviewQueue implements vscode.Disposable {
  private readonly position = new Map<number, number>();
  private readonly decisions = new Map<number, 'a' | 'b'>();
  /** Per queued line, each text a decision here gave it or replaced, and that decision (none: unreviewed). */
  private readonly texts = new Map<number, Map<string, string>>();
  private readonly item = vscode.window.createStatusBarItem('dpo.review', vscode.StatusBarAlignment.Left, 10);

  constructor(readonly spec: ReviewQueueSpec) {
    spec.lines.forEach((l, i) => this.position.set(l, i));
    this.item.name = 'DPO Review';
    this.item.command = SUGGEST_CONFIG_COMMAND;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the one queue that the status bar item and its command act on
    active = this;
    this.render();
    this.item.show();
  }

  get first(): number | undefined {
    return this.spec.lines[0];
  }

  /** 1-based previous/next lines in queue order (0 at the ends), or undefined if `i` is not queued. */
  neighbours(i: number): { prev: number; next: number } | undefined {
    const at = this.position.get(i);
    if (at === undefined) return undefined;
    return { prev: at > 0 ? this.spec.lines[at - 1] + 1 : 0, next: at + 1 < this.spec.lines.length ? this.spec.lines[at + 1] + 1 : 0 };
  }

  /** A decision on line i that changed its text from `before` to `after`. */
  record(i: number, decision: string, before: string, after: string): void {
    if (!this.position.has(i)) return;
    const texts = this.texts.get(i) ?? new Map<string, string>();
    if (!texts.has(before)) texts.set(before, '');
    texts.set(after, decision);
    this.texts.set(i, texts);
    this.set(i, decision);
  }

  /**
   * Line i's text changed (undo, redo, Backspace, an edit): back to a text that a decision here gave
   * or replaced, the review counts that decision, or none. Other texts leave the count as it was.
   */
  lineChanged(i: number, text: string): void {
    const decision = this.texts.get(i)?.get(text);
    if (decision !== undefined && decision !== (this.decisions.get(i) ?? '')) this.set(i, decision);
  }

  private set(i: number, decision: string): void {
    if (decision === 'a' || decision === 'b') this.decisions.set(i, decision);
    else this.decisions.delete(i);
    this.render();
  }

  /** Why queued line i is suspicious, for its card. */
  suspicion(i: number): { margin: number; rank: number; of: number } | undefined {
    const why = this.spec.why?.get(i);
    return why && { ...why, of: this.spec.total };
  }

  summary(): { confirmed: number; total: number } & ReviewEstimate {
    const flips = [...this.decisions.values()].filter((d) => d === 'b').length;
    const reviewed = this.decisions.size;
    return { confirmed: reviewed - flips, total: this.spec.total, ...reviewEstimate(flips, reviewed, this.spec.total) };
  }

  private render(): void {
    const s = this.summary();
    this.item.text =
      `$(checklist) Review: ${s.flips} flipped, ${s.confirmed} confirmed of ${s.reviewed}/${this.spec.lines.length}` +
      (s.reviewed ? ` · flip rate ${Math.round(s.rate * 100)}% (${Math.round(s.low * 100)}–${Math.round(s.high * 100)}%)` : '');
    const smoothing = smoothingText(s, this.spec.lines.length);
    this.item.tooltip = s.reviewed
      ? `${rateText(s)} among the reviewed pairs (the interval is where the true rate of pairs like these lies, 95%). ${smoothing[0].toUpperCase()}${smoothing.slice(1)}.` +
        (s.labelSmoothing !== undefined ? ' Click to write a new run config with conservative DPO at that value.' : '')
      : `Confirm (1/A) or flip (2/B) each of the ${this.spec.lines.length} flagged pairs, most suspicious first.`;
  }

  dispose(): void {
    this.item.dispose();
    if (active === this) active = undefined;
  }
}
