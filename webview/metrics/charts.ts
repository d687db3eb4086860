// The charts: uPlot per metric group, several runs overlaid, train (raw + smoothed) and eval series,
// warnings marked, drag-zoom, a click on a point asking the host for that step's pairs, and redraws
// batched to one per frame and to the charts on screen.
import uPlot from 'uplot';
import { decimate } from './decimate';
import { renderSummary } from './chrome';
import { scientificTicks } from './axis-values';
import { $, CHARTS, ChartDef, RunData, alpha, charts, colorFor, cssVar, dirty, fmt, lowerBound, runs, send, stats, ui } from './state';

let frameRequested = false;

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
      if (!run.seen.has(metric)) continue;
      out.push({ run, metric, kind: 'raw' }, { run, metric, kind: 'smooth' });
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

export function seriesOptions(s: SeriesSpec, index: number): uPlot.Series {
  const second = CHARTS.find((c) => c.metrics.includes(s.metric))!.metrics.indexOf(s.metric) === 1;
  // The second metric of a pair (rejected, beside chosen) gets its own hue: one run shows two
  // clearly different lines; with several runs each keeps its colour family through the alpha.
  const base = second ? (runs.size === 1 ? colorFor(1) : alpha(s.run.color, 0.55)) : s.run.color;
  const label = `${s.run.meta.name} ${s.metric}${s.kind === 'eval' ? ' (eval)' : s.kind === 'raw' ? ' (raw)' : ''}`;
  if (s.kind === 'raw') return { label, stroke: alpha(base, 0.25), width: 1, spanGaps: true, points: { show: false } };
  if (s.kind === 'eval') return { label, stroke: base, width: 1.5, spanGaps: false, points: { show: true, size: 6, fill: base } };
  void index;
  return { label, stroke: base, width: second ? 1.5 : 2, spanGaps: true, points: { show: false } };
}

/** A chart's text alternative: its title and each run's last train (and eval) value with its step. */
export function chartLabel(def: ChartDef, specs: SeriesSpec[]): string {
  const parts: string[] = [];
  for (const s of specs) {
    if (s.kind === 'smooth') continue;
    const steps = s.kind === 'eval' ? s.run.evalSteps : s.run.steps;
    const col = (s.kind === 'eval' ? s.run.evalCols : s.run.cols).get(s.metric) ?? [];
    let i = col.length - 1;
    while (i >= 0 && !Number.isFinite(col[i])) i--;
    if (i < 0) continue;
    parts.push(`${s.run.meta.name} ${s.kind === 'eval' ? 'eval ' : ''}${s.metric} ${fmt(col[i])} at step ${steps[i]}`);
  }
  return `${def.title} chart${parts.length ? `: last values ${parts.join('; ')}` : ''}`;
}

/** Vertical marks where warnings happened, drawn over the series. */
export function warningPlugin(): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = cssVar('--vscode-editorWarning-foreground', '#cca700');
        ctx.fillStyle = ctx.strokeStyle;
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        for (const run of runs.values()) {
          for (const w of run.warnings) {
            const x = ui.xAxis === 'step' ? w.step : run.times[Math.max(0, lowerBound(run.steps, w.step))];
            if (x === undefined) continue;
            const px = Math.round(u.valToPos(x, 'x', true));
            if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(px, u.bbox.top);
            ctx.lineTo(px, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillText('⚠', px + 3, u.bbox.top + 12 * devicePixelRatio);
          }
        }
        ctx.restore();
      },
    },
  };
}

export function rebuildCharts(): void {
  const grid = $('grid');
  for (const u of charts.values()) u.destroy();
  charts.clear();
  observer.disconnect();
  sizer.disconnect();
  visible.clear();
  grid.replaceChildren();
  const fg = cssVar('--vscode-foreground', '#ccc');
  const gridColor = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  for (const def of CHARTS) {
    const specs = seriesFor(def);
    if (specs.length === 0) continue;
    const box = document.createElement('div');
    box.className = 'chart';
    box.dataset.chart = def.id;
    const head = document.createElement('div');
    head.className = 'chart-head';
    head.innerHTML = `<h3>${def.title}</h3>`;
    const png = document.createElement('vscode-button');
    png.setAttribute('secondary', '');
    png.className = 'png';
    png.textContent = 'PNG';
    png.setAttribute('aria-label', `Save the ${def.title} chart as PNG`);
    png.addEventListener('click', () => savePng(def.id));
    head.append(png);
    box.append(head);
    grid.append(box);
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const yAxis: uPlot.Axis = { ...axis, size: 64, label: def.yLabel, labelSize: 18 };
    // Learning rates are ~1e-6: fixed decimals would read "0, 0, 0".
    if (def.id === 'learning_rate') yAxis.values = (_u, splits) => scientificTicks(splits);
    const opts: uPlot.Options = {
      // The plot fills its card (the grid decides the card's width); resizes follow through sizer.
      width: plotWidth(box),
      height: 220,
      scales: { x: { time: false } },
      axes: [{ ...axis, label: ui.xAxis === 'step' ? 'step' : 'wall time (s)' }, yAxis],
      series: [{ label: ui.xAxis }, ...specs.map(seriesOptions)],
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      legend: { live: true },
      plugins: [warningPlugin()],
      hooks: {
        ready: [(u) => u.over.addEventListener('click', () => onChartClick(def, specs, u))],
        // A drag-zoom: redraw that range at full resolution.
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            zoomRange.set(def.id, [u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x')]);
            dirty.add(def.id);
            schedule();
          },
        ],
      },
    };
    const u = new uPlot(opts, chartData(specs, def.id), box);
    // The canvas is an image to a screen reader: name it with what it shows (updated as data arrives).
    u.ctx.canvas.setAttribute('role', 'img');
    u.ctx.canvas.setAttribute('aria-label', chartLabel(def, specs));
    charts.set(def.id, u);
    observer.observe(box);
    sizer.observe(box);
  }
  if (stats.firstPaintMs < 0 && charts.size > 0) stats.firstPaintMs = performance.now();
}

export function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    for (const id of [...dirty]) {
      if (!visible.has(id) && charts.has(id)) continue;
      dirty.delete(id);
      const u = charts.get(id);
      const def = CHARTS.find((c) => c.id === id)!;
      const specs = seriesFor(def);
      if (!u || specs.length !== u.series.length - 1) {
        rebuildCharts();
        dirty.clear();
        break;
      }
      u.setData(chartData(specs, id), false);
      u.ctx.canvas.setAttribute('aria-label', chartLabel(def, specs));
      // Follow the newest point unless the user has zoomed in.
      const xs = u.data[0];
      if (!zoomRange.has(id) && xs.length) u.setScale('x', { min: xs[0] as number, max: xs[xs.length - 1] as number });
    }
    stats.frames++;
    renderSummary();
  });
}

/** The width a plot gets in its card: the card's content box, so no part of the x range is clipped. */
function plotWidth(box: HTMLElement): number {
  const style = getComputedStyle(box);
  const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return Math.max(200, Math.floor(inner || window.innerWidth - 40));
}

/** Keeps each plot as wide as its card when the panel (and so the grid's columns) is resized. */
export const sizer = new ResizeObserver((entries) => {
  for (const e of entries) {
    const box = e.target as HTMLElement;
    const u = charts.get(box.dataset.chart!);
    if (!u) continue;
    const width = plotWidth(box);
    if (Math.abs(width - u.width) >= 1) u.setSize({ width, height: u.height });
  }
});

/** Charts on screen: only these are redrawn as data streams in; the others catch up when shown. */
export const visible = new Set<string>();
export const observer = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = (e.target as HTMLElement).dataset.chart!;
    if (e.isIntersecting) {
      visible.add(id);
      dirty.add(id);
      schedule();
    } else visible.delete(id);
  }
});

export function onChartClick(def: ChartDef, specs: SeriesSpec[], u: uPlot): void {
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined) return;
  const x = u.data[0][idx] as number;
  const spec = specs[0];
  if (!spec) return;
  const run = spec.run;
  const step = ui.xAxis === 'step' ? x : run.steps[Math.min(run.steps.length - 1, lowerBound(run.times, x))];
  const split = specs.some((s) => s.kind === 'eval') && run.evalSteps.includes(step) && !run.steps.includes(step) ? 'eval' : 'train';
  send('metrics/requestPairs', { runDir: run.meta.runDir, step, split });
  void def;
}

export function savePng(id: string): void {
  const u = charts.get(id);
  if (!u) return;
  // The plot canvas plus a background in the theme colour (the canvas itself is transparent).
  const src = u.ctx.canvas;
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(src, 0, 0);
  send('metrics/savePng', { name: id, dataUrl: out.toDataURL('image/png') });
}
