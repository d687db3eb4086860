// The terminal view of a run: one progress line (step/total, loss, margin, accuracy, ETA) that is
// redrawn on a TTY and printed every few steps otherwise, plus warnings and a final table.
import { MetricsRecord, RunPhase, formatDuration } from '../protocol';

export class ProgressLine {
  private last?: MetricsRecord;
  private startedAt = Date.now();
  private startStep?: number;
  private printedAt = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  private write(text: string, final = false): void {
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    else if (final || Date.now() - this.printedAt > 2000) {
      this.out.write(text + '\n');
      this.printedAt = Date.now();
    }
  }

  metrics(m: MetricsRecord): void {
    if (m.split === 'eval') return; // eval lines are shown in the table, not the bar
    this.last = m;
  }

  phase(phase: RunPhase, done: number, total: number, message?: string): void {
    if (phase !== 'training') {
      this.write(`${phase}${message ? ` ${message}` : ''} ${total > 1 ? `${done}/${total}` : ''}`.trimEnd(), false);
      return;
    }
    this.startStep ??= done - 1;
    const width = 24;
    const filled = barCells(done, total, width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const perStep = elapsed / Math.max(1, done - this.startStep || 0);
    const m = this.last?.values;
    const parts = [`step ${done}/${total} [${bar}]`];
    if (m) {
      parts.push(`loss ${m.loss.toFixed(4)}`);
      if (m['rewards/margins'] !== undefined) parts.push(`margin ${m['rewards/margins'].toFixed(4)}`);
      if (m['rewards/accuracies'] !== undefined) parts.push(`acc ${m['rewards/accuracies'].toFixed(2)}`);
      if (m.kl !== undefined) parts.push(`kl ${m.kl.toFixed(4)}`); // KTO's reference point
    }
    const left = Math.max(0, total - done);
    parts.push(`${Number.isFinite(perStep) ? perStep.toFixed(2) : '?'} s/step`, `ETA ${(Number.isFinite(left) && formatDuration(perStep * left)) || '?'}`);
    this.write(parts.join('  '), done >= total);
  }

  message(text: string): void {
    if (this.out.isTTY) this.out.write('\r\x1b[2K');
    this.out.write(text + '\n');
  }
}

/**
 * Filled cells of a `width`-cell bar for done/total, always within 0..width: an engine may report
 * done > total (a resume of a run killed while writing final/), a zero, negative or NaN total.
 */
export function barCells(done: number, total: number, width: number): number {
  const ratio = done / total;
  if (!Number.isFinite(ratio) || ratio <= 0) return 0;
  return Math.min(width, Math.round(ratio * width));
}

/** A metrics table: one row per record, the given columns. */
export function metricsTable(records: MetricsRecord[], columns: string[]): string {
  const header = ['step', ...columns];
  const rows = records.map((r) => [String(r.step), ...columns.map((c) => (r.values[c] === undefined ? '' : r.values[c].toFixed(4)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
