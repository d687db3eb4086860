// The metrics panel (browser side): uPlot charts of a run's TRL metrics, several runs overlaid,
// train and eval together, smoothing (TensorBoard's de-biased EMA) over the faint raw line, zoom
// (drag) and reset (double-click), a hover read-out, warnings marked where they happened, and a
// click on a point listing that step's pairs. Appends are drawn at most once per frame.
import uPlot from 'uplot';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { HealthWarning } from '../../src/protocol/run';
import { MetricsRecord, RecordLine, metricValue, parseRunRecord } from '../../src/protocol/run-folder';
import { assertNever } from '../../src/protocol/assert-never';
import { HostToMetrics, MetricsRun, MetricsToHost, PanelRunStatus, WEBVIEW_PROTOCOL_VERSION, parseHostToMetrics } from '../../src/protocol/webview';
import { Ema } from './smoothing';
import { formatDuration } from '../../src/protocol/format';
import { decimate } from './decimate';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };
/** True only in the benchmark's bundle (out/webview/metrics-bench.js), which exposes `stats` on window. */
declare const __DPO_BENCH__: boolean;
const vscode = acquireVsCodeApi();

interface ChartDef {
  id: string;
  title: string;
  metrics: string[];
}

export const CHARTS: ChartDef[] = [
  { id: 'loss', title: 'Loss', metrics: ['loss'] },
  { id: 'rewards', title: 'Rewards: chosen / rejected', metrics: ['rewards/chosen', 'rewards/rejected'] },
  { id: 'margins', title: 'Reward margin', metrics: ['rewards/margins'] },
  { id: 'accuracies', title: 'Reward accuracy', metrics: ['rewards/accuracies'] },
  { id: 'logps', title: 'Log-probs: chosen / rejected', metrics: ['logps/chosen', 'logps/rejected'] },
  { id: 'grad_norm', title: 'Gradient norm', metrics: ['grad_norm'] },
  { id: 'learning_rate', title: 'Learning rate', metrics: ['learning_rate'] },
  { id: 'tokens_per_second', title: 'Tokens per second', metrics: ['tokens_per_second'] },
];

/** One run's columns, grown in place as lines arrive. */
interface RunData {
  meta: MetricsRun;
  color: string;
  steps: number[];
  times: number[];
  cols: Map<string, number[]>;
  evalSteps: number[];
  evalCols: Map<string, number[]>;
  smooth: Map<string, { ema: Ema; values: number[] }>;
  /** Metrics with at least one finite value (train / eval), kept as lines arrive. */
  seen: Set<string>;
  seenEval: Set<string>;
  warnings: HealthWarning[];
  status: PanelRunStatus;
  totalSteps?: number;
  etaSeconds?: number;
}

interface PersistedState {
  runDirs: string[];
  xAxis: 'step' | 'time';
  smoothing: number;
}

const saved = vscode.getState() as PersistedState | undefined;
const ui: PersistedState = { runDirs: saved?.runDirs ?? [], xAxis: saved?.xAxis ?? 'step', smoothing: saved?.smoothing ?? 0.6 };
const runs = new Map<string, RunData>();
const charts = new Map<string, uPlot>();
const dirty = new Set<string>();
let frameRequested = false;
/** Frames drawn, for the benchmark. */
export const stats = { frames: 0, firstPaintMs: -1 };

function send<K extends keyof MetricsToHost>(type: K, params: MetricsToHost[K]): void {
  vscode.postMessage({ type, params });
}

function persist(): void {
  ui.runDirs = [...runs.keys()];
  vscode.setState(ui);
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function colorFor(i: number): string {
  return cssVar(PALETTE[i % PALETTE.length], FALLBACK[i % FALLBACK.length]);
}

function alpha(color: string, a: number): string {
  return `color-mix(in srgb, ${color} ${Math.round(a * 100)}%, transparent)`;
}

const app = document.getElementById('app')!;
app.innerHTML = `
  <header>
    <div id="runs" class="runs"></div>
    <vscode-button id="add-run" secondary title="Add any run folder to the charts, e.g. one a cluster job writes on a shared disk">Open Run Folder…</vscode-button>
    <label>x axis <vscode-single-select id="x-axis"><vscode-option value="step">step</vscode-option><vscode-option value="time">wall time (s)</vscode-option></vscode-single-select></label>
    <label>smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01"><span id="smoothing-value"></span></label>
    <vscode-button id="export-csv" secondary>Export CSV</vscode-button>
  </header>
  <div id="summary" class="summary" role="status"></div>
  <div id="warnings" class="warnings"></div>
  <div id="grid" class="grid"></div>
  <section id="pairs" class="pairs" hidden>
    <h2 id="pairs-title"></h2>
    <table><thead><tr><th>line</th><th>chosen reward</th><th>rejected reward</th><th>margin</th><th>loss</th></tr></thead><tbody id="pairs-body"></tbody></table>
  </section>
  <div id="status" class="muted"></div>`;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

// ---- data -------------------------------------------------------------------------------------

function appendMetrics(run: RunData, r: MetricsRecord): void {
  switch (r.split) {
    case 'eval':
      run.evalSteps.push(r.step);
      for (const c of CHARTS) for (const m of c.metrics) {
        if (!run.evalCols.has(m)) run.evalCols.set(m, []);
        const v = metricValue(r, m) ?? NaN;
        run.evalCols.get(m)!.push(v);
        if (Number.isFinite(v)) run.seenEval.add(m);
      }
      return;
    case 'train':
      run.steps.push(r.step);
      run.times.push(r.values.elapsed_seconds ?? NaN);
      for (const c of CHARTS) for (const m of c.metrics) {
        if (!run.cols.has(m)) run.cols.set(m, []);
        const v = metricValue(r, m) ?? NaN;
        run.cols.get(m)!.push(v);
        if (Number.isFinite(v)) run.seen.add(m);
        let s = run.smooth.get(m);
        if (!s) run.smooth.set(m, (s = { ema: new Ema(ui.smoothing), values: [] }));
        s.values.push(s.ema.next(v));
      }
      return;
    default:
      assertNever(r.split);
  }
}

/** Adds metrics.jsonl records to a run; returns whether any was a warning. */
function appendRecords(run: RunData, lines: RecordLine[]): boolean {
  let warned = false;
  for (const line of lines) {
    const parsed = parseRunRecord(line);
    if (!parsed.ok) continue; // the message guard already checked each record
    const r = parsed.value;
    switch (r.kind) {
      case 'metrics':
        appendMetrics(run, r);
        break;
      case 'warning':
        run.warnings.push({ code: r.code, step: r.step, message: r.message });
        warned = true;
        break;
      case 'status':
        run.meta.backend ??= `${r.engine} · ${r.device}`;
        break;
      default:
        assertNever(r);
    }
  }
  return warned;
}

function resmooth(): void {
  for (const run of runs.values()) {
    for (const [m, values] of run.cols) {
      const ema = new Ema(ui.smoothing);
      run.smooth.set(m, { ema, values: values.map((v) => ema.next(v)) });
    }
  }
  for (const c of CHARTS) dirty.add(c.id);
  schedule();
}

function addRun(meta: MetricsRun): void {
  const existing = runs.get(meta.runDir);
  const color = existing?.color ?? colorFor(runs.size);
  const run: RunData = {
    meta, color, steps: [], times: [], cols: new Map(), evalSteps: [], evalCols: new Map(), smooth: new Map(), seen: new Set(), seenEval: new Set(),
    warnings: [], status: meta.status, totalSteps: meta.totalSteps,
  };
  appendRecords(run, meta.records);
  runs.set(meta.runDir, run);
  persist();
  rebuildCharts();
  renderRuns();
  renderSummary();
  renderWarnings();
}

// ---- charts -----------------------------------------------------------------------------------

/** The x value of a train step in the current x mode (wall time maps eval steps to train times). */
function xOf(run: RunData, steps: number[], isEvalSeries: boolean): number[] {
  if (ui.xAxis === 'step') return steps;
  if (!isEvalSeries) return run.times;
  return steps.map((s) => {
    const i = lowerBound(run.steps, s);
    return i < run.steps.length ? run.times[i] : run.times[run.times.length - 1] ?? 0;
  });
}

function lowerBound(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface SeriesSpec {
  run: RunData;
  metric: string;
  kind: 'raw' | 'smooth' | 'eval';
}

function seriesFor(def: ChartDef): SeriesSpec[] {
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
const MAX_POINTS = 4096;

/** The x range a zoomed chart shows, or undefined when it follows all the data. */
const zoomRange = new Map<string, [number, number]>();

/**
 * uPlot wants one shared x. A single run's train series share its steps (the fast path, decimated
 * to the visible range); several runs or eval points are aligned with uPlot.join.
 */
function chartData(specs: SeriesSpec[], chartId?: string): uPlot.AlignedData {
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
  return parts.length ? uPlot.join(parts) : [[]];
}

function seriesOptions(s: SeriesSpec, index: number): uPlot.Series {
  const second = CHARTS.find((c) => c.metrics.includes(s.metric))!.metrics.indexOf(s.metric) === 1;
  // The second metric of a pair (rejected, beside chosen) gets its own hue: one run shows two
  // clearly different lines; with several runs each keeps its colour family through the alpha.
  const base = second ? (runs.size === 1 ? colorFor(1) : alpha(s.run.color, 0.55)) : s.run.color;
  const label = `${s.run.meta.name} ${s.metric}${s.kind === 'eval' ? ' (eval)' : s.kind === 'raw' ? ' (raw)' : ''}`;
  if (s.kind === 'raw') return { label, stroke: alpha(base, 0.25), width: 1, spanGaps: true, points: { show: false } };
  if (s.kind === 'eval') return { label, stroke: base, width: 2, dash: [6, 4], spanGaps: true, points: { show: true, size: 5, fill: base } };
  void index;
  return { label, stroke: base, width: second ? 1.5 : 2, spanGaps: true, points: { show: false } };
}

/** Vertical marks where warnings happened, drawn over the series. */
function warningPlugin(): uPlot.Plugin {
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

function rebuildCharts(): void {
  const grid = $('grid');
  for (const u of charts.values()) u.destroy();
  charts.clear();
  observer.disconnect();
  visible.clear();
  grid.replaceChildren();
  const fg = cssVar('--vscode-foreground', '#ccc');
  const gridColor = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const width = Math.max(320, Math.floor((grid.clientWidth || window.innerWidth - 40) / 2) - 16);
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
    png.addEventListener('click', () => savePng(def.id));
    head.append(png);
    box.append(head);
    grid.append(box);
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const opts: uPlot.Options = {
      width,
      height: 220,
      scales: { x: { time: false } },
      axes: [{ ...axis, label: ui.xAxis === 'step' ? 'step' : 'seconds' }, { ...axis, size: 60 }],
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
    charts.set(def.id, u);
    observer.observe(box);
  }
  if (stats.firstPaintMs < 0 && charts.size > 0) stats.firstPaintMs = performance.now();
}

function schedule(): void {
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
      // Follow the newest point unless the user has zoomed in.
      const xs = u.data[0];
      if (!zoomRange.has(id) && xs.length) u.setScale('x', { min: xs[0] as number, max: xs[xs.length - 1] as number });
    }
    stats.frames++;
    renderSummary();
  });
}

/** Charts on screen: only these are redrawn as data streams in; the others catch up when shown. */
const visible = new Set<string>();
const observer = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = (e.target as HTMLElement).dataset.chart!;
    if (e.isIntersecting) {
      visible.add(id);
      dirty.add(id);
      schedule();
    } else visible.delete(id);
  }
});

function onChartClick(def: ChartDef, specs: SeriesSpec[], u: uPlot): void {
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

function savePng(id: string): void {
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

// ---- chrome -----------------------------------------------------------------------------------

function renderRuns(): void {
  const box = $('runs');
  box.replaceChildren();
  for (const run of runs.values()) {
    const chip = document.createElement('span');
    chip.className = 'run-chip';
    chip.style.borderColor = run.color;
    chip.title = run.meta.runDir;
    chip.innerHTML = `<span class="swatch"></span><span class="name"></span><button class="remove" title="Remove from the panel" aria-label="Remove">×</button>`;
    (chip.querySelector('.swatch') as HTMLElement).style.background = run.color;
    chip.querySelector('.name')!.textContent = run.meta.name;
    chip.querySelector('.remove')!.addEventListener('click', () => {
      runs.delete(run.meta.runDir);
      send('metrics/removeRun', { runDir: run.meta.runDir });
      persist();
      rebuildCharts();
      renderRuns();
      renderSummary();
      renderWarnings();
    });
    box.append(chip);
  }
}

function renderSummary(): void {
  const parts: string[] = [];
  for (const run of runs.values()) {
    const step = run.steps[run.steps.length - 1] ?? 0;
    const margins = run.evalCols.get('rewards/margins') ?? [];
    const best = margins.length ? Math.max(...margins.filter((v) => !Number.isNaN(v))) : NaN;
    const total = run.totalSteps ? `/${run.totalSteps}` : '';
    const eta = run.status === 'running' && run.etaSeconds !== undefined ? ` · ETA ${formatDuration(run.etaSeconds)}` : '';
    const backend = run.meta.backend ? ` · ${run.meta.backend}` : '';
    const name = escapeHtml(run.meta.name);
    parts.push(`<span class="run-summary" data-run="${name}"><b>${name}</b> ${run.status} · step <span class="step">${step}${total}</span>${Number.isFinite(best) ? ` · best eval margin ${fmt(best)}` : ''}${eta}${escapeHtml(backend)}</span>`);
  }
  $('summary').innerHTML = parts.join('');
}

function renderWarnings(): void {
  const items = [...runs.values()].flatMap((r) => r.warnings.map((w) => `<li><b>${escapeHtml(r.meta.name)}</b> step ${w.step} [${w.code}] ${escapeHtml(w.message)}</li>`));
  $('warnings').innerHTML = items.length ? `<ul>${items.join('')}</ul>` : '';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderPairs(p: HostToMetrics['metrics/didPairs']): void {
  const section = $('pairs');
  section.hidden = false;
  $('pairs-title').textContent = `${p.pairs.length} pair(s) of ${p.runDir.split(/[\\/]/).pop()} at step ${p.step} (${p.split}), worst margin first`;
  const body = $('pairs-body');
  body.replaceChildren();
  for (const pair of p.pairs) {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.title = 'Open this line of the data file';
    for (const v of [String(pair.line), fmt(pair.chosen_reward), fmt(pair.rejected_reward), fmt(pair.margin), fmt(pair.loss)]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    const open = () => send('metrics/openLine', { runDir: p.runDir, line: pair.line, split: p.split });
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
    body.append(tr);
  }
}

// ---- controls ---------------------------------------------------------------------------------

const smoothing = $<HTMLInputElement>('smoothing');
smoothing.value = String(ui.smoothing);
$('smoothing-value').textContent = ui.smoothing.toFixed(2);
smoothing.addEventListener('input', () => {
  ui.smoothing = Number(smoothing.value);
  $('smoothing-value').textContent = ui.smoothing.toFixed(2);
  persist();
  resmooth();
});
const xAxis = $<HTMLElement & { value: string }>('x-axis');
xAxis.value = ui.xAxis;
xAxis.addEventListener('change', () => {
  ui.xAxis = xAxis.value === 'time' ? 'time' : 'step';
  persist();
  zoomRange.clear();
  rebuildCharts();
});
$('add-run').addEventListener('click', () => send('metrics/addRun', {}));
$('export-csv').addEventListener('click', () => send('metrics/exportCsv', { runDirs: [...runs.keys()] }));
window.addEventListener('resize', () => rebuildCharts());
// Chart colours are read from the theme's CSS variables when the charts are built: rebuild them when
// VS Code switches theme (it changes the body's vscode-light/vscode-dark class), or a light theme
// keeps the dark theme's pale labels and dark grid.
new MutationObserver(() => rebuildCharts()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
document.addEventListener('dblclick', () => {
  zoomRange.clear();
  for (const c of CHARTS) dirty.add(c.id);
  schedule();
});

window.addEventListener('message', (event) => {
  const parsed = parseHostToMetrics(event.data);
  if (!parsed.ok) {
    console.error(`metrics: dropped a bad message from the host: ${parsed.error}`);
    return;
  }
  const m = parsed.value;
  switch (m.type) {
    case 'host/didInit':
      break;
    case 'metrics/didLoadRun':
      addRun(m.params.run);
      break;
    case 'metrics/didAppend': {
      const run = runs.get(m.params.runDir);
      if (!run) break;
      run.status = m.params.status;
      run.totalSteps = m.params.totalSteps ?? run.totalSteps;
      run.etaSeconds = m.params.etaSeconds;
      if (m.params.records.length) {
        if (appendRecords(run, m.params.records)) renderWarnings();
        for (const c of CHARTS) dirty.add(c.id);
      }
      schedule();
      break;
    }
    case 'metrics/didPairs':
      renderPairs(m.params);
      break;
    case 'metrics/didSave':
      $('status').textContent = `Saved ${m.params.file}`;
      break;
    case 'host/didError':
      $('status').textContent = `Error: ${m.params.message}`;
      break;
    default:
      assertNever(m);
  }
});

send('webview/ready', { protocolVersion: WEBVIEW_PROTOCOL_VERSION, runDirs: ui.runDirs });
if (__DPO_BENCH__) (window as unknown as { dpoMetricsStats: typeof stats }).dpoMetricsStats = stats;
