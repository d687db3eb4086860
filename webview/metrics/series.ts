// What a chart draws: its series (per run: raw and smoothed train lines, eval points), their data
// aligned on one x for uPlot, and their look. A run is a hue in every chart; within a chart the
// first metric (chosen, or the only one) is solid and the second (rejected) dashed, and eval is
// points, so a second run overlaid never changes what a colour or a line style means.
import uPlot from 'uplot';
import { decimate } from './decimate';
import { chartAltText } from './text';
import { CHARTS, ChartDef, RunData, alpha, cssVar, fmt, lowerBound, runColor, runs, ui } from './state';

/** The x value of a train step in the current x mode (wall time maps eval steps to train times). */
export function xOf(run: RunData, steps: number[], isEvalSeries: boolean): number[] {
  if (ui.xAxis === 'step') return steps;
  if (!isEvalSeries) return run.times;
  return steps.map((s) => {
    const i = lowerBound(run.steps, s);
    return i < run.steps.length ? run.times[i] : (run.times[run.times.length - 1] ?? 0);
  });
}

export interface SeriesSpec {
  run: RunData;
  metric: string;
  kind: 'raw' | 'smooth' | 'eval';
}

export function seriesFor(def: ChartDef): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  for (const run of runs.values()) {
    for (const metric of def.metrics) {
      // Some metrics exist only as evaluations (the checkpoint evaluations' gen/*): points, no lines.
      if (run.seen.has(metric)) out.push({ run, metric, kind: 'raw' }, { run, metric, kind: 'smooth' });
      if (run.seenEval.has(metric)) out.push({ run, metric, kind: 'eval' });
    }
  }
  return out;
}

/** Points per pixel above which a series is drawn from per-bucket min/max (the envelope a line would show anyway). */
export const MAX_POINTS = 4096;

/** The x range a zoomed chart shows, or undefined when it follows all the data. */
export const zoomRange = new Map<string, [number, number]>();

/**
 * uPlot wants one shared x. A single run's train series share its steps (the fast path, decimated
 * to the visible range); several runs or eval points are aligned with uPlot.join.
 */
export function chartData(specs: SeriesSpec[], chartId?: string): uPlot.AlignedData {
  const parts: uPlot.AlignedData[] = [];
  const singleRun = new Set(specs.map((s) => s.run)).size === 1 && specs.every((s) => s.kind !== 'eval');
  if (singleRun && specs.length > 0) {
    const run = specs[0].run;
    const x = xOf(run, run.steps, false);
    const ys = specs.map((s) => (s.kind === 'raw' ? run.cols.get(s.metric)! : run.smooth.get(s.metric)!.values));
    const range = chartId ? zoomRange.get(chartId) : undefined;
    // Zoomed: one bucket of margin on each side so the line runs to the plot's edges.
    const lo = range ? Math.max(0, lowerBound(x, range[0]) - 1) : 0;
    const hi = range ? Math.min(x.length, lowerBound(x, range[1]) + 2) : x.length;
    const d = decimate(x, ys, lo, hi, MAX_POINTS);
    return [d.x, ...d.ys] as uPlot.AlignedData;
  }
  for (const s of specs) {
    const x = s.kind === 'eval' ? xOf(s.run, s.run.evalSteps, true) : xOf(s.run, s.run.steps, false);
    const y = s.kind === 'eval' ? s.run.evalCols.get(s.metric)! : s.kind === 'raw' ? s.run.cols.get(s.metric)! : s.run.smooth.get(s.metric)!.values;
    parts.push([x, y.map((v) => (Number.isNaN(v) ? null : v))] as uPlot.AlignedData);
  }
  if (!parts.length) return [[]];
  const joined = uPlot.join(parts);
  // uPlot spans the `undefined` that join leaves at other series' steps; an eval series gets
  // nulls there instead, so its points are joined only where evaluations were at consecutive
  // steps and a 50-step gap is not drawn as if it were a trend.
  specs.forEach((s, i) => {
    if (s.kind !== 'eval') return;
    const ys = joined[i + 1] as (number | null | undefined)[];
    for (let j = 0; j < ys.length; j++) if (ys[j] === undefined) ys[j] = null;
  });
  return joined;
}

/** Whether a metric is the second of its chart's pair (rejected beside chosen): drawn dashed. */
export function isSecond(metric: string): boolean {
  return CHARTS.find((c) => c.metrics.includes(metric))!.metrics.indexOf(metric) === 1;
}

/** The series' short name inside its chart, as the tooltip lists it ("chosen", "eval rejected", "train"). */
export function seriesName(def: ChartDef, s: SeriesSpec): string {
  const metric = def.metrics.length > 1 ? s.metric.split('/').pop()! : '';
  if (s.kind === 'eval') return metric ? `eval ${metric}` : 'eval';
  return metric || 'train';
}

export const DASH = [6, 4];

export function seriesOptions(s: SeriesSpec): uPlot.Series {
  const color = runColor(s.run);
  const second = isSecond(s.metric);
  const dash = second ? DASH : undefined;
  const label = `${s.run.meta.name} ${s.metric}${s.kind === 'eval' ? ' (eval)' : s.kind === 'raw' ? ' (raw)' : ''}`;
  if (s.kind === 'raw') return { label, stroke: alpha(color, 0.25), width: 1, dash, spanGaps: true, points: { show: false } };
  if (s.kind === 'eval') {
    // The second metric's eval points are hollow: the same run colour, told apart without a hue.
    const fill = second ? cssVar('--vscode-editor-background', '#1e1e1e') : color;
    return { label, stroke: color, width: 1.5, dash, spanGaps: false, points: { show: true, size: 7, width: 1.5, fill, stroke: color } };
  }
  return { label, stroke: color, width: 2, dash, spanGaps: true, points: { show: false } };
}

/** A chart's text alternative: its title and each run's last smoothed train value. */
export function chartLabel(def: ChartDef, specs: SeriesSpec[]): string {
  const lasts: { name: string; step: number; value: string }[] = [];
  for (const s of specs) {
    if (s.kind !== 'smooth') continue;
    const col = s.run.smooth.get(s.metric)?.values ?? [];
    let i = col.length - 1;
    while (i >= 0 && !Number.isFinite(col[i])) i--;
    if (i < 0) continue;
    const name = def.metrics.length > 1 ? `${s.run.meta.name} ${s.metric.split('/').pop()}` : s.run.meta.name;
    lasts.push({ name, step: s.run.steps[i], value: fmt(col[i]) });
  }
  return chartAltText(def.title, new Set(specs.map((s) => s.run)).size, lasts);
}
