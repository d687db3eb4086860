// The charts by keyboard: each plot is focusable; arrow keys move the cursor a step (Shift: ten),
// Home/End jump to the ends of the visible range, Enter opens that step's pairs, + and - zoom
// around the cursor, 0 resets the zoom, Escape closes the pairs. The same actions as the mouse's
// hover, click, drag and double-click.
import type uPlot from 'uplot';
import { ChartDef, charts, lowerBound, runs } from './state';
import { seriesFor, xOf, zoomRange } from './series';
import { closeDrillDown, requestPairs } from './drill-down';
import { zoomAround } from './text';
import { fullRange, setZoom } from './charts';

/** The keyboard cursor's x per chart (kept in data units: indexes change as data streams in). */
const cursorX = new Map<string, number>();

function nearestIndex(xs: number[], x: number): number {
  const i = Math.min(xs.length - 1, lowerBound(xs, x));
  return i > 0 && Math.abs(xs[i - 1] - x) < Math.abs(xs[i] - x) ? i - 1 : i;
}

/** Opens the pairs at x: of the first run that logged that step (train first, then eval). */
export function openPairsAt(def: ChartDef, x: number, keyboard: boolean): void {
  const shown = new Set(seriesFor(def).map((s) => s.run));
  for (const run of runs.values()) {
    if (!shown.has(run)) continue;
    const trainX = xOf(run, run.steps, false);
    const i = trainX.indexOf(x);
    if (i >= 0) return requestPairs(def.id, run, run.steps[i], 'train', keyboard);
    const e = xOf(run, run.evalSteps, true).indexOf(x);
    if (e >= 0) return requestPairs(def.id, run, run.evalSteps[e], 'eval', keyboard);
  }
}

function showCursor(u: uPlot, x: number): void {
  u.setCursor({ left: u.valToPos(x, 'x'), top: u.over.clientHeight / 2 });
}

export function onPlotKey(def: ChartDef, e: KeyboardEvent): void {
  const u = charts.get(def.id);
  if (!u) return;
  const xs = u.data[0] as number[];
  if (!xs.length) return;
  const min = u.scales.x.min ?? xs[0];
  const max = u.scales.x.max ?? xs[xs.length - 1];
  const start = cursorX.get(def.id) ?? (u.cursor.idx !== null && u.cursor.idx !== undefined ? xs[u.cursor.idx] : xs[xs.length - 1]);
  let i = nearestIndex(xs, start);
  const full = fullRange(def);
  switch (e.key) {
    case 'ArrowRight':
      i = Math.min(xs.length - 1, i + (e.shiftKey ? 10 : 1));
      break;
    case 'ArrowLeft':
      i = Math.max(0, i - (e.shiftKey ? 10 : 1));
      break;
    case 'Home':
      i = Math.min(xs.length - 1, lowerBound(xs, min));
      break;
    case 'End':
      i = Math.max(0, lowerBound(xs, max + 1e-9) - 1);
      break;
    case 'Enter':
    case ' ':
      openPairsAt(def, xs[i], true);
      break;
    case '+':
    case '=':
    case '-':
    case '_': {
      if (!full) return;
      const range = zoomRange.get(def.id) ?? full;
      const next = zoomAround(range, xs[i], e.key === '+' || e.key === '=' ? 0.5 : 2, full[0], full[1]);
      setZoom(def.id, next[0] <= full[0] && next[1] >= full[1] ? undefined : next);
      break;
    }
    case '0':
      setZoom(def.id, undefined);
      break;
    case 'Escape':
      closeDrillDown();
      break;
    default:
      return;
  }
  e.preventDefault();
  const x = (u.data[0] as number[])[nearestIndex(u.data[0] as number[], xs[i])];
  // A cursor moved out of a zoomed range drags the range along with it.
  const zoom = zoomRange.get(def.id);
  if (zoom && full && (x < zoom[0] || x > zoom[1])) {
    const width = zoom[1] - zoom[0];
    const a = Math.min(Math.max(x < zoom[0] ? x : x - width, full[0]), full[1] - width);
    setZoom(def.id, [a, a + width]);
  }
  cursorX.set(def.id, x);
  showCursor(u, x);
  // Say what the cursor now reads (only on a key press, never per frame).
  if (e.key.startsWith('Arrow') || e.key === 'Home' || e.key === 'End') {
    const announce = document.getElementById('announce');
    const tip = u.over.querySelector('.tooltip');
    if (announce && tip) announce.textContent = [...tip.children].map((c) => c.textContent).join('; ');
  }
}

/** Makes a chart's plot keyboard-reachable; the cursor appears where it last was (or at the newest step). */
export function wireKeyboard(def: ChartDef, plot: HTMLElement): void {
  plot.tabIndex = 0;
  plot.addEventListener('keydown', (e) => onPlotKey(def, e));
  plot.addEventListener('focus', () => {
    const u = charts.get(def.id);
    const xs = u?.data[0] as number[] | undefined;
    if (!u || !xs?.length) return;
    const x = cursorX.get(def.id) ?? xs[xs.length - 1];
    cursorX.set(def.id, x);
    // After the focus event the browser may still scroll; place the cursor on the next frame.
    requestAnimationFrame(() => showCursor(u, x));
  });
  plot.addEventListener('blur', (e) => {
    if (plot.contains(e.relatedTarget as Node | null)) return;
    charts.get(def.id)?.setCursor({ left: -10, top: -10 });
  });
}
