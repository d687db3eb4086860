// The cursor tooltip: at the hovered (or keyboard-moved) step, each run's smoothed values and any
// evaluation there, in the run's colour as the chart draws it; a run that ended before that step
// says so instead of repeating its last value. The raw line is not listed (it is the faint
// background of the smoothed one).
import type uPlot from 'uplot';
import { ChartDef, RunData, escapeHtml, fmt, lowerBound, ui } from './state';
import { SeriesSpec, seriesFor, seriesName, xOf } from './series';
import { formatClock, readoutAt } from './text';

/** The index of the last x at or before `x`, or -1. */
function atOrBefore(xs: number[], x: number): number {
  const i = lowerBound(xs, x);
  return i < xs.length && xs[i] === x ? i : i - 1;
}

/** The colour uPlot strokes series `i` with (what the eye sees in the chart). */
export function strokeOf(u: uPlot, i: number): string {
  const s = u.series[i].stroke;
  return String(typeof s === 'function' ? s(u, i) : s);
}

function runRow(u: uPlot, def: ChartDef, run: RunData, specs: SeriesSpec[], x: number): string {
  const trainX = xOf(run, run.steps, false);
  const lastX = trainX[trainX.length - 1];
  const parts: string[] = [];
  let color = '';
  let ended = '';
  specs.forEach((s, k) => {
    if (s.run !== run || s.kind === 'raw') return;
    // An evaluation-only chart (the checkpoint evaluations' gen/*) has no smoothed line: its points give the colour.
    if (!color && (s.kind === 'smooth' || s.kind === 'eval')) color = strokeOf(u, k + 1);
    if (s.kind === 'smooth') {
      const i = atOrBefore(trainX, x);
      const value = i >= 0 ? fmt(run.smooth.get(s.metric)!.values[i]) : '–';
      const text = readoutAt(x, lastX, run.steps[run.steps.length - 1], value);
      if (text !== value) ended = text;
      else parts.push(`${seriesName(def, s)} ${value}`);
    } else {
      const evalX = xOf(run, run.evalSteps, true);
      const i = atOrBefore(evalX, x);
      if (i < 0 || evalX[i] !== x) return;
      const v = run.evalCols.get(s.metric)![i];
      // Step 0's accuracy is left out of the chart (every pair ties): say what it was instead of "–".
      if (Number.isNaN(v) && s.metric === 'rewards/accuracies' && run.referenceAt0 && run.evalSteps[i] === 0)
        parts.push(`${seriesName(def, s)}: all ties (policy = reference)`);
      else parts.push(`${seriesName(def, s)} ${fmt(v)}`);
    }
  });
  if (!color) return '';
  const body = ended || parts.join(' · ');
  return `<div class="tt-run" data-run="${escapeHtml(run.meta.name)}"><span class="swatch" data-color="${escapeHtml(color)}"></span><b>${escapeHtml(run.meta.name)}</b> ${escapeHtml(body)}</div>`;
}

/** A uPlot plugin drawing the tooltip of chart `def` inside its plot area. */
export function tooltipPlugin(def: ChartDef): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'tooltip';
        tip.hidden = true;
        u.over.append(tip);
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (idx === null || idx === undefined || left < 0) {
          tip.hidden = true;
          return;
        }
        const x = u.data[0][idx] as number;
        const specs = seriesFor(def);
        if (specs.length !== u.series.length - 1) return; // a rebuild is on its way
        const runs = [...new Set(specs.map((s) => s.run))];
        const head = ui.xAxis === 'step' ? `step ${x}` : `wall time ${formatClock(x)}`;
        tip.innerHTML = `<div class="tt-head">${head}</div>${runs.map((r) => runRow(u, def, r, specs, x)).join('')}`;
        // Colours through the CSSOM: the webview's CSP allows no inline style attributes.
        for (const sw of tip.querySelectorAll<HTMLElement>('.swatch')) sw.style.background = sw.dataset.color!;
        tip.hidden = false;
        // Beside the cursor, on the side with more room, so it never covers the hovered point.
        const flip = left > u.over.clientWidth / 2;
        tip.style.left = flip ? '' : `${left + 12}px`;
        tip.style.right = flip ? `${u.over.clientWidth - left + 12}px` : '';
      },
    },
  };
}
