// What each line of a (possibly very large) preference file is, learned lazily: a line is inspected
// when it is first shown or walked over, and the rest in the background in small slices, so the
// first pair appears at once and counts and Problems fill in after. Edits re-inspect only the
// lines they touch. One byte per line (100,000 lines: 100 kB).
import { LABEL_LINE_KINDS, LabelCountsView } from '../../protocol';
import { LineKind, inspectLine } from './pair-line';

export interface LineSource {
  readonly lineCount: number;
  /** The text of line i (0-based), without its line break. */
  lineAt(i: number): string;
}

const KINDS: readonly LineKind[] = LABEL_LINE_KINDS;
const UNKNOWN = 0x7f;
/** Set on a labeled line that came labeled (chosen/rejected, no "label"): counted apart as `given`. */
const GIVEN = 0x80;
const code = (k: LineKind) => KINDS.indexOf(k);

/** Counts per kind; partial while `pending` > 0. */
export type LabelCounts = LabelCountsView;

/** Where a range of lines was replaced: [start, start + removed) became `added` lines. */
export interface LineSplice {
  start: number;
  removed: number;
  added: number;
}

export class LineIndex {
  private kinds = new Uint8Array(0);
  private perKind = new Array<number>(KINDS.length).fill(0);
  private unknown = 0;
  private given = 0;
  /** Background scan position: every line before it was inspected at least once. */
  private cursor = 0;

  constructor(private readonly source: LineSource) {
    this.reset();
  }

  /** Forget everything (e.g. after a change that cannot be mapped line by line). */
  reset(): void {
    this.kinds = new Uint8Array(this.source.lineCount).fill(UNKNOWN);
    this.perKind.fill(0);
    this.given = 0;
    this.unknown = this.kinds.length;
    this.cursor = 0;
  }

  get lineCount(): number {
    return this.kinds.length;
  }

  get complete(): boolean {
    return this.unknown === 0;
  }

  kind(i: number): LineKind {
    if (this.kinds[i] === UNKNOWN) this.inspect(i);
    return KINDS[this.kinds[i] & ~GIVEN];
  }

  private inspect(i: number): void {
    const line = inspectLine(this.source.lineAt(i));
    this.set(i, code(line.kind) | (line.given ? GIVEN : 0));
  }

  /** Forgets line i's kind (code with or without GIVEN) in the counts. */
  private uncount(k: number): void {
    if (k === UNKNOWN) this.unknown--;
    else {
      this.perKind[k & ~GIVEN]--;
      if (k & GIVEN) this.given--;
    }
  }

  private set(i: number, k: number): void {
    const old = this.kinds[i];
    if (old === k) return;
    this.uncount(old);
    if (k === UNKNOWN) this.unknown++;
    else {
      this.perKind[k & ~GIVEN]++;
      if (k & GIVEN) this.given++;
    }
    this.kinds[i] = k;
  }

  /** Inspects up to `budget` not-yet-seen lines; returns how many are still unknown. */
  scan(budget: number): number {
    while (budget > 0 && this.cursor < this.kinds.length) {
      if (this.kinds[this.cursor] === UNKNOWN) {
        this.inspect(this.cursor);
        budget--;
      }
      this.cursor++;
    }
    if (this.cursor >= this.kinds.length && this.unknown > 0) this.cursor = this.kinds.indexOf(UNKNOWN);
    return this.unknown;
  }

  /** Applies a text change; the touched lines are inspected again when next needed. */
  splice(s: LineSplice): void {
    const next = new Uint8Array(this.kinds.length - s.removed + s.added);
    next.set(this.kinds.subarray(0, s.start));
    next.fill(UNKNOWN, s.start, s.start + s.added);
    next.set(this.kinds.subarray(s.start + s.removed), s.start + s.added);
    for (let i = s.start; i < s.start + s.removed; i++) this.uncount(this.kinds[i]);
    this.unknown += s.added;
    this.kinds = next;
    this.cursor = Math.min(this.cursor, s.start);
    if (this.kinds.length !== this.source.lineCount) this.reset();
  }

  counts(): LabelCounts {
    const n = (k: LineKind) => this.perKind[code(k)];
    return {
      pairs: this.kinds.length - n('blank') - this.unknown,
      labeled: n('a') + n('b'),
      tie: n('tie'),
      skip: n('skip'),
      left: n('todo'),
      bad: n('bad'),
      pending: this.unknown,
      given: this.given,
    };
  }

  /**
   * The next line after `from` (or before it, with step -1) that `accept`s its kind, inspecting
   * lines on the way; -1 if none.
   */
  find(from: number, step: 1 | -1, accept: (k: LineKind) => boolean): number {
    for (let i = from + step; i >= 0 && i < this.kinds.length; i += step) if (accept(this.kind(i))) return i;
    return -1;
  }

  /** Lines known to be bad (0-based), in order. */
  badLines(): number[] {
    const bad = code('bad');
    const out: number[] = [];
    for (let i = 0; i < this.kinds.length; i++) if ((this.kinds[i] & ~GIVEN) === bad) out.push(i);
    return out;
  }
}
