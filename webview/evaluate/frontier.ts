// The frontier chart (the DPO paper's Fig. 2 for the user's own runs): mean reward or win rate
// against KL(π‖π_ref), one point per evaluated checkpoint, each run a series whose line follows its
// steps. uPlot in its x-y mode, as the metrics panel's charts; hover shows a point's values, a click
// or Enter/Space selects it, arrow keys walk the points (Left/Right along a run, Up/Down across runs).
import uPlot from 'uplot';
import { FrontierSeries, Row, frontierSeries, movePoint, paddedRange, pointText } from './model';
import { $, announce, colorFor, cssVar, escapeHtml, ui } from './state';

let chart: uPlot | undefined;
let shown: FrontierSeries[] = [];
/** The keyboard's point (series, point), kept while the data stays the same. */
let cursor: { s: number; p: number } | undefined;
let onSelect: (dir: string) => void = () => undefined;

export function setFrontierSelect(fn: (dir: string) => void): void {
  onSelect = fn;
}

function nearest(u: uPlot, left: number, top: number, within = 14): { s: number; p: number } | undefined {
  let best: { s: number; p: number; d: number } | undefined;
  shown.forEach((series, s) =>
    series.points.forEach((pt, p) => {
      const d = Math.hypot(u.valToPos(pt.x, 'x') - left, u.valToPos(pt.y, 'y') - top);
      if (d <= within && (!best || d < best.d)) best = { s, p, d };
    }),
  );
  return best && { s: best.s, p: best.p };
}

/** Rings the selected point and the keyboard's point, over the series. */
function marksPlugin(): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        const ring = (s: number, p: number, color: string, r: number) => {
          const pt = shown[s]?.points[p];
          if (!pt) return;
          ctx.beginPath();
          ctx.strokeStyle = color;
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.arc(u.valToPos(pt.x, 'x', true), u.valToPos(pt.y, 'y', true), r * devicePixelRatio, 0, 2 * Math.PI);
          ctx.stroke();
        };
        ctx.save();
        // The points themselves: uPlot's x-y mode draws the lines, not reliably the points (a run with one point would vanish).
        shown.forEach((series, s) => {
          ctx.fillStyle = colorFor(s);
          for (const pt of series.points) {
            ctx.beginPath();
            ctx.arc(u.valToPos(pt.x, 'x', true), u.valToPos(pt.y, 'y', true), 4.5 * devicePixelRatio, 0, 2 * Math.PI);
            ctx.fill();
          }
        });
        shown.forEach((series, s) => series.points.forEach((pt, p) => pt.dir === ui.selected && ring(s, p, cssVar('--vscode-foreground', '#ccc'), 8)));
        if (cursor && document.activeElement === $('frontier-plot')) ring(cursor.s, cursor.p, cssVar('--vscode-focusBorder', '#007fd4'), 11);
        ctx.restore();
      },
    },
  };
}

function showTip(u: uPlot, at: { s: number; p: number } | undefined): void {
  const tip = $('frontier-tip');
  const pt = at && shown[at.s]?.points[at.p];
  if (!at || !pt) {
    tip.hidden = true;
    return;
  }
  tip.textContent = pointText(shown[at.s].name, pt, ui.y);
  tip.hidden = false;
  const left = u.valToPos(pt.x, 'x');
  const flip = left > u.over.clientWidth / 2;
  tip.style.left = flip ? '' : `${left + u.over.offsetLeft + 12}px`;
  tip.style.right = flip ? `${u.root.clientWidth - left - u.over.offsetLeft + 12}px` : '';
  tip.style.top = `${u.valToPos(pt.y, 'y') + u.over.offsetTop + 8}px`;
}

function plotWidth(): number {
  const box = $('frontier-plot');
  return Math.max(240, Math.floor(box.clientWidth || window.innerWidth - 40));
}

/** Draws (or redraws) the chart for these rows; called when the data, judge, y choice or theme changes. */
export function renderFrontier(rows: Row[]): void {
  const { series, missing } = frontierSeries(rows, ui.y);
  shown = series;
  if (cursor && !shown[cursor.s]?.points[cursor.p]) cursor = undefined;
  chart?.destroy();
  chart = undefined;
  const plot = $('frontier-plot');
  const yLabel = ui.y === 'reward' ? 'mean reward' : 'win rate';
  $('frontier-note').textContent =
    missing > 0
      ? `${missing} evaluation${missing === 1 ? ' has' : 's have'} no ${yLabel} (${ui.y === 'reward' ? 'no reward model' : 'no judge'}): not drawn.`
      : '';
  renderLegend();
  if (!series.length) {
    plot.setAttribute('aria-label', `Frontier chart: no evaluation has a ${yLabel} yet.`);
    plot.replaceChildren();
    return;
  }
  const fg = cssVar('--vscode-foreground', '#ccc');
  const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const axis: uPlot.Axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const opts: uPlot.Options = {
    mode: 2,
    width: plotWidth(),
    height: 300,
    // Ranges from all points, padded, so each point and its ring sit inside the plot.
    scales: { x: { time: false, range: () => paddedRange(xs) }, y: { range: () => paddedRange(ys) } },
    axes: [
      { ...axis, label: 'KL(π‖π_ref)' },
      { ...axis, label: yLabel, size: 64, values: ui.y === 'winRate' ? (_u, v) => v.map((t) => `${Math.round(t * 100)}%`) : undefined },
    ],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.name,
        stroke: colorFor(i),
        width: 2,
        paths: uPlot.paths.linear!(),
        points: { show: false },
        facets: [
          { scale: 'x', auto: false },
          { scale: 'y', auto: false },
        ],
      })),
    ],
    cursor: { show: false, drag: { x: false, y: false } },
    legend: { show: false },
    plugins: [marksPlugin()],
  };
  const facets = series.map((s) => [s.points.map((p) => p.x), s.points.map((p) => p.y)]);
  plot.replaceChildren();
  chart = new uPlot(opts, [null, ...facets] as unknown as uPlot.AlignedData, plot);
  const u = chart;
  u.over.addEventListener('mousemove', (e) => showTip(u, nearest(u, e.offsetX, e.offsetY)));
  u.over.addEventListener('mouseleave', () => showTip(u, undefined));
  u.over.addEventListener('click', (e) => {
    const at = nearest(u, e.offsetX, e.offsetY);
    if (!at) return;
    cursor = at;
    onSelect(shown[at.s].points[at.p].dir);
  });
  const count = series.reduce((n, s) => n + s.points.length, 0);
  plot.setAttribute(
    'aria-label',
    `Frontier chart: ${yLabel} against KL, ${count} point${count === 1 ? '' : 's'} in ${series.length} run${series.length === 1 ? '' : 's'}.`,
  );
  plot.dataset.points = String(count);
}

function renderLegend(): void {
  $('frontier-legend').innerHTML = shown
    .map((s, i) => `<li><span class="swatch" data-i="${i}"></span>${escapeHtml(s.name)} <span class="muted">(${s.points.length})</span></li>`)
    .join('');
  for (const sw of $('frontier-legend').querySelectorAll<HTMLElement>('.swatch')) sw.style.background = colorFor(Number(sw.dataset.i));
}

/** The plot's keys: arrows move between points, Enter/Space selects, Escape hides the readout. */
export function onFrontierKey(e: KeyboardEvent): void {
  if (!chart || !shown.length) return;
  if (e.key === 'Enter' || e.key === ' ') {
    const pt = cursor && shown[cursor.s]?.points[cursor.p];
    if (pt) onSelect(pt.dir);
  } else if (e.key === 'Escape') showTip(chart, undefined);
  else if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) {
    cursor = movePoint(shown, cursor, e.key);
    const pt = cursor && shown[cursor.s].points[cursor.p];
    if (pt) announce(pointText(shown[cursor!.s].name, pt, ui.y));
    showTip(chart, cursor);
  } else return;
  e.preventDefault();
  chart.redraw(false);
}

/** Focus shows the keyboard's point (the first one the first time). */
export function onFrontierFocus(focused: boolean): void {
  if (!chart) return;
  if (focused && !cursor && shown.length) cursor = { s: 0, p: 0 };
  showTip(chart, focused ? cursor : undefined);
  chart.redraw(false);
}

/** Follows the panel's width (the chart is as wide as its card). */
export function resizeFrontier(): void {
  if (chart && Math.abs(chart.width - plotWidth()) >= 1) chart.setSize({ width: plotWidth(), height: chart.height });
}

/** For tests and anyone inspecting the DOM: where a point is drawn, in CSS pixels of the plot's overlay. */
export function pointPosition(dir: string): { left: number; top: number } | undefined {
  for (const s of shown) for (const p of s.points) if (p.dir === dir && chart) return { left: chart.valToPos(p.x, 'x'), top: chart.valToPos(p.y, 'y') };
  return undefined;
}
