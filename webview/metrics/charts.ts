// The charts: one uPlot per metric group in a card, several runs overlaid, warnings marked,
// drag-zoom (and keyboard zoom, keyboard.ts), a click on a point opening that step's pairs over the
// chart, a cursor tooltip, and redraws batched to one per frame and to the charts on screen.
import uPlot from 'uplot';
import { renderSummary } from './chrome';
import { REFERENCE_EVAL_TEXT, scientificTicks } from './axis-values';
import { clockTicks } from './text';
import { tooltipPlugin } from './tooltip';
import { openPairsAt, wireKeyboard } from './keyboard';
import { chartData, chartLabel, seriesFor, seriesOptions, xOf, zoomRange } from './series';
import { chartDefs, placeholderCharts } from './objective-charts';
import { $, ChartDef, charts, cssVar, dirty, fmt, lowerBound, runs, send, stats, ui } from './state';

let frameRequested = false;
const STEP_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 2.5e4, 5e4, 1e5, 2e5, 5e5, 1e6];

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

/** The colours the charts were built with, per theme: the theme test reads them off the card. */
function themeColors(): { fg: string; grid: string } {
  return { fg: cssVar('--vscode-foreground', '#ccc'), grid: cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)') };
}

function chartCard(def: ChartDef): { box: HTMLElement; plot: HTMLElement; reset: HTMLElement } {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = def.id;
  const head = document.createElement('div');
  head.className = 'chart-head';
  head.innerHTML = `<h3>${def.title}</h3><span class="chart-actions"></span>`;
  const button = (cls: string, text: string, label: string, onClick: () => void) => {
    const b = document.createElement('vscode-button');
    b.setAttribute('secondary', '');
    b.className = cls;
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onClick);
    head.querySelector('.chart-actions')!.append(b);
    return b;
  };
  const reset = button('reset-zoom', 'Reset zoom', `Reset zoom of the ${def.title} chart`, () => setZoom(def.id, undefined));
  reset.hidden = !zoomRange.has(def.id);
  button('png', 'PNG', `Save chart ${def.title} as PNG`, () => savePng(def.id));
  const plot = document.createElement('div');
  plot.className = 'plot';
  // One text alternative for the canvas (updated as data arrives) and the keys, for screen readers.
  plot.setAttribute('role', 'img');
  plot.setAttribute('aria-describedby', 'chart-keys');
  box.append(head, plot);
  return { box, plot, reset };
}

export function rebuildCharts(): void {
  const grid = $('grid');
  const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.chart')?.dataset.chart;
  for (const u of charts.values()) u.destroy();
  charts.clear();
  observer.disconnect();
  sizer.disconnect();
  visible.clear();
  grid.replaceChildren();
  const { fg, grid: gridColor } = themeColors();
  for (const def of shownCharts()) {
    const specs = seriesFor(def);
    if (placeholderWanted(def, specs)) {
      grid.append(placeholderCard(def));
      continue;
    }
    if (specs.length === 0) continue;
    const { box, plot } = chartCard(def);
    box.dataset.axisColor = fg;
    box.dataset.gridColor = gridColor;
    grid.append(box);
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const yAxis: uPlot.Axis = { ...axis, size: 64, label: def.yLabel, labelSize: 18 };
    // Learning rates are ~1e-6: fixed decimals would read "0, 0, 0".
    if (def.id === 'learning_rate') yAxis.values = (_u, splits) => scientificTicks(splits);
    const xAxis: uPlot.Axis = { ...axis, label: ui.xAxis === 'step' ? 'step' : 'wall time (h:m:s)' };
    if (ui.xAxis === 'time') xAxis.values = (_u, splits) => clockTicks(splits);
    // Steps are whole numbers: no tick at step 2.5.
    else xAxis.incrs = STEP_INCRS;
    const opts: uPlot.Options = {
      // The plot fills its card (the grid decides the card's width); resizes follow through sizer.
      width: plotWidth(box),
      height: 220,
      scales: { x: { time: false } },
      axes: [xAxis, yAxis],
      series: [{ label: ui.xAxis }, ...specs.map(seriesOptions)],
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      // One legend for the panel (legend.ts) and a tooltip at the cursor, not a legend per chart.
      legend: { show: false },
      plugins: [warningPlugin(), tooltipPlugin(def)],
      hooks: {
        ready: [(u) => u.over.addEventListener('click', () => onChartClick(def, u))],
        // A drag-zoom: redraw that range at full resolution.
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            zoomRange.set(def.id, [u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x')]);
            showReset(def.id);
            dirty.add(def.id);
            schedule();
          },
        ],
        // The visible x range, for tests and for anyone inspecting the DOM.
        setScale: [
          (u, key) => {
            if (key !== 'x') return;
            plot.dataset.xMin = String(u.scales.x.min);
            plot.dataset.xMax = String(u.scales.x.max);
          },
        ],
      },
    };
    const u = new uPlot(opts, chartData(specs, def.id), plot);
    if (def.id === 'accuracies' && specs.some((s) => s.run.referenceAt0)) u.over.append(referenceNote());
    plot.setAttribute('aria-label', chartLabel(def, specs));
    wireKeyboard(def, plot);
    charts.set(def.id, u);
    observer.observe(box);
    sizer.observe(box);
    if (def.id === focused) plot.focus();
  }
  if (stats.firstPaintMs < 0 && charts.size > 0) stats.firstPaintMs = performance.now();
}

/** Whether a run shown has not logged its first step yet and will draw this chart: its frame stands in. */
function waitsForFirstStep(def: ChartDef): boolean {
  return [...runs.values()].some(
    (r) => r.steps.length === 0 && (r.status === 'starting' || r.status === 'running') && placeholderCharts(r.meta.mode).includes(def.id),
  );
}

/**
 * A chart's frame stands in while a run waits for its first step and the chart has nothing else to
 * draw than that run's step-0 evaluation (one point at x 0, which uPlot cannot place on an axis).
 */
function placeholderWanted(def: ChartDef, specs: ReturnType<typeof seriesFor>): boolean {
  return waitsForFirstStep(def) && specs.every((s) => s.kind === 'eval' && s.run.steps.length === 0);
}

/** What a frame says: that it waits, and the step-0 evaluation's values of its metrics when there is one. */
function placeholderText(def: ChartDef): string {
  const at0 = [...runs.values()].flatMap((r) => {
    const i = r.evalSteps.indexOf(0);
    return i < 0 ? [] : def.metrics.map((m) => [m, r.evalCols.get(m)?.[i] ?? NaN] as const).filter(([, v]) => Number.isFinite(v));
  });
  return at0.length ? `waiting for the first step · eval at step 0: ${at0.map(([m, v]) => `${m} ${fmt(v)}`).join(' · ')}` : 'waiting for the first step';
}

/** An empty chart frame of a real card's size, with its title: the layout stays put when the data comes. */
function placeholderCard(def: ChartDef): HTMLElement {
  const { box, plot } = chartCard(def);
  const text = placeholderText(def);
  box.classList.add('placeholder');
  box.dataset.waiting = text;
  for (const b of box.querySelectorAll('vscode-button')) b.setAttribute('disabled', '');
  plot.removeAttribute('aria-describedby');
  plot.setAttribute('aria-label', `${def.title} chart, ${text}`);
  const p = document.createElement('p');
  p.className = 'waiting';
  p.textContent = text;
  plot.append(p);
  if (def.id === 'accuracies' && [...runs.values()].some((r) => r.referenceAt0)) plot.append(referenceNote());
  return box;
}

/** The accuracy chart's note on step 0's evaluation, whose point it leaves out. */
function referenceNote(): HTMLElement {
  const note = document.createElement('div');
  note.className = 'plot-note';
  note.textContent = REFERENCE_EVAL_TEXT;
  return note;
}

function showReset(id: string): void {
  const b = document.querySelector<HTMLElement>(`.chart[data-chart="${id}"] .reset-zoom`);
  if (b) b.hidden = !zoomRange.has(id);
}

/** The x extent of all a chart's data (what an unzoomed chart shows), or undefined when empty. */
export function fullRange(def: ChartDef): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of seriesFor(def)) {
    const xs = s.kind === 'eval' ? xOf(s.run, s.run.evalSteps, true) : xOf(s.run, s.run.steps, false);
    if (!xs.length) continue;
    lo = Math.min(lo, xs[0]);
    hi = Math.max(hi, xs[xs.length - 1]);
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Zooms a chart to `range` (undefined: all its data) at once, redrawn at full resolution there. */
export function setZoom(id: string, range: [number, number] | undefined): void {
  if (range) zoomRange.set(id, range);
  else zoomRange.delete(id);
  showReset(id);
  const u = charts.get(id);
  const def = shownCharts().find((c) => c.id === id)!;
  if (!u) return;
  u.setData(chartData(seriesFor(def), id), false);
  const r = range ?? fullRange(def);
  if (r) u.setScale('x', { min: r[0], max: r[1] });
}

/** Resets every chart's zoom (double-click anywhere, as before). */
export function resetAllZoom(): void {
  for (const id of [...zoomRange.keys()]) setZoom(id, undefined);
}

/** The charts for the runs now shown (their titles follow the runs' objectives). */
function shownCharts(): ChartDef[] {
  return chartDefs([...runs.values()].map((r) => r.meta.lossType));
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
      const def = shownCharts().find((c) => c.id === id)!;
      const specs = seriesFor(def);
      // A chart without a plot: rebuild only when its frame comes, goes or says something new (not on every append).
      if (!u && (placeholderWanted(def, specs) ? placeholderShows(id) === placeholderText(def) : specs.length === 0 && placeholderShows(id) === undefined))
        continue;
      if (!u || specs.length !== u.series.length - 1) {
        rebuildCharts();
        dirty.clear();
        break;
      }
      u.setData(chartData(specs, id), false);
      const label = chartLabel(def, specs);
      const plot = u.root.parentElement!;
      if (plot.getAttribute('aria-label') !== label) plot.setAttribute('aria-label', label);
      // Follow the newest point unless the user has zoomed in.
      const xs = u.data[0];
      const zoom = zoomRange.get(id);
      if (zoom) u.setScale('x', { min: zoom[0], max: zoom[1] });
      else if (xs.length) u.setScale('x', { min: xs[0] as number, max: xs[xs.length - 1] as number });
    }
    stats.frames++;
    renderSummary();
  });
}

/** The text of the chart's frame, or undefined when it has none. */
function placeholderShows(id: string): string | undefined {
  return document.querySelector<HTMLElement>(`.chart.placeholder[data-chart="${id}"]`)?.dataset.waiting;
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

/** A click on the plot: that step's pairs, over the chart. */
export function onChartClick(def: ChartDef, u: uPlot): void {
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined) return;
  openPairsAt(def, u.data[0][idx] as number, false);
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
