// A review queue for the labeling editor: the lines of a data file in `dpo triage` order (most
// likely mislabeled first). The editor walks the queue instead of the file; a flip (decision "b")
// or a confirmation ("a") is an ordinary decision, recorded with annotator and time. The queue
// counts them and shows the flips, the noise-rate estimate and the conservative-DPO suggestion.
import * as vscode from 'vscode';
import { noiseEstimate } from '../../protocol/triage-rank';

export interface ReviewQueueSpec {
  /** 0-based lines, most suspicious first. */
  lines: number[];
  /** Pairs in the file (the denominator of the noise estimate). */
  total: number;
  /** The run whose model ranked the pairs (its config seeds the suggested run config). */
  runDir?: string;
}

const pending = new Map<string, ReviewQueueSpec>();
let active: ReviewQueue | undefined;

/** Queues a review for the next labeling editor opened on `uri`. */
export function setReviewQueue(uri: vscode.Uri, spec: ReviewQueueSpec): void {
  pending.set(uri.toString(), spec);
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

  summary(): { flips: number; confirmed: number; reviewed: number; total: number } & ReturnType<typeof noiseEstimate> {
    const flips = [...this.decisions.values()].filter((d) => d === 'b').length;
    const reviewed = this.decisions.size;
    return { flips, confirmed: reviewed - flips, reviewed, total: this.spec.total, ...noiseEstimate(flips, reviewed, this.spec.total) };
  }

  private render(): void {
    const s = this.summary();
    this.item.text =
      `$(checklist) Review: ${s.flips} flipped, ${s.confirmed} confirmed of ${s.reviewed}/${this.spec.lines.length}` +
      (s.reviewed ? ` · noise ≈ ${(s.reviewedRate * 100).toFixed(0)}% of reviewed` : '');
    this.item.tooltip = s.reviewed
      ? `${s.flips} of the ${s.reviewed} reviewed pairs were mislabeled. Left in the file: at most ≈ ${(s.remainingRate * 100).toFixed(1)}% (the unreviewed pairs ranked lower, so their rate is taken as at most the reviewed rate). Click to write a new run config with conservative DPO, label_smoothing ${s.labelSmoothing}.`
      : 'Flip (2/B) or confirm (1/A) each pair, most suspicious first.';
  }

  dispose(): void {
    this.item.dispose();
    if (active === this) active = undefined;
  }
}
