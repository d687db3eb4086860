// The metrics panel (browser side): uPlot charts of a run's TRL metrics, several runs overlaid,
// train and eval together, smoothing (TensorBoard's de-biased EMA) over the faint raw line, zoom
// (drag or keys) and reset, a cursor tooltip, one legend, warnings marked where they happened, and
// a click (or Enter) on a point showing that step's pairs over its chart. Appends are drawn at
// most once per frame.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { assertNever } from '../../src/protocol/assert-never';
import { MetricsRun, WEBVIEW_PROTOCOL_VERSION, parseHostToMetrics } from '../../src/protocol/webview';
import { $, CHARTS, RunData, dirty, freeColorIndex, persist, runs, send, stats, ui } from './state';
import { appendRecords, resmooth } from './data';
import { rebuildCharts, resetAllZoom, schedule } from './charts';
import { zoomRange } from './series';
import { renderEmpty, renderSummary, renderWarnings, resumeAnswered } from './chrome';
import { renderLegend } from './legend';
import { closeDrillDown, renderDrillDown } from './drill-down';

/** True only in the benchmark's bundle (out/webview-bench/metrics-bench.js), which exposes `stats` on window. */
declare const __DPO_BENCH__: boolean;
const app = document.getElementById('app')!;
app.innerHTML = `
  <header>
    <h1 class="visually-hidden">DPO training metrics</h1>
    <div id="legend" class="legend"></div>
    <div class="controls">
      <vscode-button id="add-run" secondary title="Add any run folder to the charts, e.g. one a cluster job writes on a shared disk">Open Run Folder…</vscode-button>
      <label>x axis <vscode-single-select id="x-axis" label="x axis"><vscode-option value="step">step</vscode-option><vscode-option value="time">wall time (h:m:s)</vscode-option></vscode-single-select></label>
      <label>smoothing <input id="smoothing" aria-label="smoothing" type="range" min="0" max="0.99" step="0.01"><span id="smoothing-value"></span></label>
      <vscode-button id="export-csv" secondary>Export CSV</vscode-button>
    </div>
  </header>
  <main>
  <div id="summary" class="summary"></div>
  <div id="warnings" class="warnings"></div>
  <section id="empty" class="empty" hidden>
    <h2>No runs in this panel</h2>
    <p>Start one with <b>DPO: New Training Run</b> in the Command Palette, or add a run folder that is already on disk.</p>
    <vscode-button id="empty-new">New Training Run…</vscode-button>
    <vscode-button id="empty-add" secondary>Open Run Folder…</vscode-button>
  </section>
  <div id="grid" class="grid"></div>
  <p id="chart-keys" class="visually-hidden">Arrow keys move the cursor a step (Shift: ten steps), Enter shows that step's pairs, plus and minus zoom, 0 resets the zoom, Escape closes the pairs.</p>
  <div id="announce" class="visually-hidden" aria-live="polite"></div>
  <div id="status" class="muted" role="status"></div>
  </main>`;

function addRun(meta: MetricsRun): void {
  const existing = runs.get(meta.runDir);
  const run: RunData = {
    meta,
    colorIndex: existing?.colorIndex ?? freeColorIndex(),
    steps: [],
    times: [],
    cols: new Map(),
    evalSteps: [],
    evalCols: new Map(),
    smooth: new Map(),
    seen: new Set(),
    seenEval: new Set(),
    warnings: [],
    status: meta.status,
    totalSteps: meta.totalSteps,
    resumable: meta.resumable ?? false,
    starting: meta.starting,
    progress: meta.progress,
    referenceAt0: false,
  };
  appendRecords(run, meta.records);
  runs.set(meta.runDir, run);
  renderAll();
}

/** After runs were added or removed: persist the list and redraw everything. */
function renderAll(): void {
  persist();
  rebuildCharts();
  renderLegend(renderAll);
  renderSummary();
  renderWarnings();
  renderEmpty(runs.size === 0);
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
  for (const c of CHARTS) dirty.add(c.id);
  schedule();
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
$('empty-add').addEventListener('click', () => send('metrics/addRun', {}));
$('empty-new').addEventListener('click', () => send('metrics/newRun', {}));
$('export-csv').addEventListener('click', () => send('metrics/exportCsv', { runDirs: [...runs.keys()] }));
// Resizes are followed per chart by the ResizeObserver in charts.ts (no rebuild, zoom kept).
// Chart colours are read from the theme's CSS variables when the charts are built: rebuild them when
// VS Code switches theme (it changes the body's vscode-light/vscode-dark class), or a light theme
// keeps the dark theme's pale labels and dark grid.
new MutationObserver(() => {
  rebuildCharts();
  renderLegend(renderAll);
  renderSummary();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });
document.addEventListener('dblclick', (e) => {
  if ((e.target as HTMLElement).closest('.drill')) return;
  resetAllZoom();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeDrillDown();
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
      // Runs saved before a reload arrive next; with none, say what to do.
      renderEmpty(ui.runDirs.length === 0 && runs.size === 0);
      break;
    case 'metrics/didLoadRun':
      addRun(m.params.run);
      break;
    case 'metrics/didAppend': {
      const run = runs.get(m.params.runDir);
      if (!run) break;
      // A run that ends or starts training changes which chart frames wait for it (charts.ts).
      if (run.status !== m.params.status) for (const c of CHARTS) dirty.add(c.id);
      run.status = m.params.status;
      run.totalSteps = m.params.totalSteps ?? run.totalSteps;
      run.etaSeconds = m.params.etaSeconds;
      run.resumable = m.params.resumable ?? false;
      run.starting = m.params.starting;
      run.progress = m.params.progress;
      resumeAnswered(run.meta.runDir);
      if (m.params.records.length) {
        if (appendRecords(run, m.params.records)) renderWarnings();
        for (const c of CHARTS) dirty.add(c.id);
      }
      schedule();
      break;
    }
    case 'metrics/didPairs':
      renderDrillDown(m.params);
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
