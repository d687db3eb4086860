// Pure helpers behind the words the metrics panel shows (read-outs, the run line, the charts' text
// alternatives): no DOM and no panel state, so unit tests load them directly.

/** Wall time as a clock: "0:42", "12:05", "1:02:05" (hours only once there are any). */
export function formatClock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const sign = seconds < 0 ? '-' : '';
  const s = Math.round(Math.abs(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${String(m).padStart(2, '0')}:${ss}` : `${sign}${m}:${ss}`;
}

/** Axis ticks in wall-time mode. */
export function clockTicks(splits: number[]): string[] {
  return splits.map(formatClock);
}

/**
 * What a run reads out at a hovered x: its value, or that it ended before x (a run that stopped at
 * step 204 has no value at step 300; repeating its last one would look like a flat line).
 */
export function readoutAt(x: number, lastX: number | undefined, lastStep: number | undefined, value: string): string {
  if (lastX === undefined || lastStep === undefined) return 'no data';
  return x > lastX ? `ended at step ${lastStep}` : value;
}

/** How a run stands, in words: "running · step 12/40", "stopped at step 12 of 40 — resumable". */
export function runStateText(status: string, step: number, total: number | undefined, resumable: boolean): string {
  const of = total ? ` of ${total}` : '';
  if (resumable) return `${status} at step ${step}${of} — resumable`;
  return `${status} · step ${step}${total ? `/${total}` : ''}`;
}

/** One line a screen reader reads for a chart: "Loss chart, 2 runs, last step 204: run-a 0.41, run-b 0.52". */
export function chartAltText(title: string, runs: number, lasts: { name: string; step: number; value: string }[]): string {
  if (!lasts.length) return `${title} chart, no data yet`;
  const lastStep = Math.max(...lasts.map((l) => l.step));
  return `${title} chart, ${runs} run${runs === 1 ? '' : 's'}, last step ${lastStep}: ${lasts.map((l) => `${l.name} ${l.value}`).join(', ')}`;
}

/** The x range after a keyboard zoom by `factor` (<1 zooms in) around `center`, kept inside [lo, hi]. */
export function zoomAround(range: [number, number], center: number, factor: number, lo: number, hi: number): [number, number] {
  const width = Math.min(hi - lo, Math.max((range[1] - range[0]) * factor, 1e-9));
  const c = Math.min(Math.max(center, range[0]), range[1]);
  // Keep the cursor at the same fraction of the plot, so the point under it stays put.
  const frac = range[1] > range[0] ? (c - range[0]) / (range[1] - range[0]) : 0.5;
  let a = c - frac * width;
  let b = a + width;
  if (a < lo) [a, b] = [lo, lo + width];
  if (b > hi) [a, b] = [hi - width, hi];
  return [a, b];
}

/** The first line of a text, cut to `max` characters (drill-down rows show where a response starts). */
export function firstLine(text: string, max = 160): string {
  const line = text.replace(/^\s+/, '').split('\n')[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
