// The Evaluate panel (browser side): the evaluations of the workspace's runs (and any folder added)
// as a sortable table and a frontier chart, a judge selector, and the selected evaluation's answers
// prompt by prompt. Everything comes from the host as evaluation summaries and result lines.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { assertNever } from '../../src/protocol/assert-never';
import { WEBVIEW_PROTOCOL_VERSION } from '../../src/protocol/webview';
import { parseHostToEvaluate } from '../../src/protocol/webview-evaluate';
import { judgesOf, rowsFor } from './model';
import { renderTable } from './table';
import { onFrontierFocus, onFrontierKey, pointPosition, renderFrontier, resizeFrontier, setFrontierSelect } from './frontier';
import { renderPairs } from './pairs';
import { $, data, escapeHtml, persist, send, ui } from './state';

const app = document.getElementById('app')!;
app.innerHTML = `
  <header>
    <h1>DPO evaluations</h1>
    <div class="controls">
      <label for="judge">Judge</label><select id="judge"></select>
      <vscode-button id="add-folder" secondary>Open Evaluation Folder…</vscode-button>
      <vscode-button id="evaluate" secondary>Evaluate Model…</vscode-button>
    </div>
  </header>
  <main>
    <section id="empty" class="empty" hidden>
      <h2>No evaluations yet</h2>
      <p>Evaluate a run's final model or checkpoints against their reference with <b>DPO: Evaluate Model…</b>; its results appear here as soon as its summary is written.</p>
      <vscode-button id="empty-evaluate">Evaluate Model…</vscode-button>
    </section>
    <ul id="problems" class="problems"></ul>
    <section id="table-card" class="card" aria-labelledby="table-title">
      <h2 id="table-title">Runs and checkpoints</h2>
      <table id="table"></table>
    </section>
    <section id="frontier-card" class="card" aria-labelledby="frontier-title">
      <div class="card-head">
        <h2 id="frontier-title">Frontier: reward against KL</h2>
        <fieldset class="toggle"><legend>y axis</legend>
          <label><input type="radio" name="y" value="reward"> mean reward</label>
          <label><input type="radio" name="y" value="winRate"> win rate</label>
        </fieldset>
      </div>
      <div class="plot-box">
        <div id="frontier-plot" class="plot" tabindex="0" role="img" aria-describedby="frontier-keys"></div>
        <div id="frontier-tip" class="tooltip" hidden></div>
      </div>
      <ul id="frontier-legend" class="legend" aria-label="Runs"></ul>
      <p id="frontier-note" class="muted"></p>
      <p id="frontier-keys" class="visually-hidden">Arrow keys move between points: left and right along a run in step order, up and down to the next run. Enter or Space selects the point's evaluation.</p>
    </section>
    <section id="pairs-card" class="card" aria-labelledby="pairs-title" hidden>
      <h2 id="pairs-title"></h2>
      <div id="pairs"></div>
    </section>
    <div id="announce" class="visually-hidden" aria-live="polite"></div>
    <div id="status" class="status" role="status"></div>
  </main>`;

function selectedTitle(): string {
  const e = data.evaluations.find((v) => v.dir === ui.selected);
  return e ? `${e.series} · ${e.name}` : '';
}

function select(dir: string): void {
  if (ui.selected !== dir) {
    ui.selected = dir;
    persist();
  }
  send('evaluate/requestPairs', { dir });
  render();
  $('announce').textContent = `Selected ${selectedTitle()}`;
}

function onSort(key: typeof ui.sort): void {
  ui.descending = ui.sort === key ? !ui.descending : key !== 'series' && key !== 'kl';
  ui.sort = key;
  persist();
  render();
  $<HTMLElement>('table').querySelector<HTMLElement>(`button.sort[data-key="${key}"]`)?.focus();
}

/** Everything but the answers, from the evaluations and the choices. */
function render(): void {
  const judges = judgesOf(data.evaluations);
  if (!ui.judge || !judges.includes(ui.judge)) ui.judge = judges[0];
  const judgeSelect = $<HTMLSelectElement>('judge');
  judgeSelect.innerHTML = judges.length
    ? judges.map((j) => `<option value="${escapeHtml(j)}"${j === ui.judge ? ' selected' : ''}>${escapeHtml(j)}</option>`).join('')
    : '<option value="">(no judge)</option>';
  judgeSelect.disabled = judges.length < 2;
  const rows = rowsFor(data.evaluations, ui.judge);
  $('empty').hidden = data.evaluations.length > 0;
  $('table-card').hidden = $('frontier-card').hidden = data.evaluations.length === 0;
  $('frontier-title').textContent = `Frontier: ${ui.y === 'reward' ? 'mean reward' : 'win rate'} against KL`;
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="y"]')) r.checked = r.value === ui.y;
  renderTable(rows, onSort, select);
  renderFrontier(rows);
  if (!data.evaluations.some((e) => e.dir === ui.selected)) renderPairs(undefined, '', true);
}

$('judge').addEventListener('change', () => {
  ui.judge = $<HTMLSelectElement>('judge').value || undefined;
  persist();
  render();
  if (data.pairs && data.pairs.dir === ui.selected) renderPairs(data.pairs, selectedTitle(), false);
});
for (const r of document.querySelectorAll<HTMLInputElement>('input[name="y"]'))
  r.addEventListener('change', () => {
    ui.y = r.value === 'winRate' ? 'winRate' : 'reward';
    persist();
    render();
  });
$('add-folder').addEventListener('click', () => send('evaluate/addFolder', {}));
$('evaluate').addEventListener('click', () => send('evaluate/evaluate', {}));
$('empty-evaluate').addEventListener('click', () => send('evaluate/evaluate', {}));
const plot = $('frontier-plot');
plot.addEventListener('keydown', onFrontierKey);
plot.addEventListener('focus', () => onFrontierFocus(true));
plot.addEventListener('blur', () => onFrontierFocus(false));
setFrontierSelect(select);
new ResizeObserver(() => resizeFrontier()).observe($('frontier-card'));
// Chart colours come from the theme's CSS variables when the chart is built: rebuild on a theme change.
new MutationObserver(() => render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
// For tests: where the selected point is drawn (the canvas has no DOM per point).
(window as unknown as { dpoFrontierPoint: typeof pointPosition }).dpoFrontierPoint = pointPosition;

window.addEventListener('message', (event) => {
  const parsed = parseHostToEvaluate(event.data);
  if (!parsed.ok) {
    console.error(`evaluate: dropped a bad message from the host: ${parsed.error}`);
    return;
  }
  const m = parsed.value;
  switch (m.type) {
    case 'host/didInit':
      break;
    case 'evaluate/didList': {
      data.evaluations = m.params.evaluations;
      ui.extraFolders = m.params.extraFolders;
      persist();
      $('problems').innerHTML = m.params.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('');
      render();
      // The selected evaluation may have been re-run: fetch its answers again.
      if (ui.selected && data.evaluations.some((e) => e.dir === ui.selected)) send('evaluate/requestPairs', { dir: ui.selected });
      break;
    }
    case 'evaluate/didPairs':
      if (m.params.dir !== ui.selected) break;
      data.pairs = m.params;
      renderPairs(m.params, selectedTitle(), true);
      break;
    case 'evaluate/didAddPair':
      $('status').innerHTML = `Added the pair as line ${m.params.line} of <a href="#" id="open-added">${escapeHtml(m.params.file)}</a>.`;
      $('open-added').addEventListener('click', (e) => {
        e.preventDefault();
        send('evaluate/openFile', { file: m.params.file, line: m.params.line });
      });
      break;
    case 'evaluate/didNotice':
      $('status').textContent = m.params.message;
      break;
    case 'host/didError':
      $('status').textContent = `Error: ${m.params.message}`;
      break;
    default:
      assertNever(m);
  }
});

send('webview/ready', { protocolVersion: WEBVIEW_PROTOCOL_VERSION, folders: ui.extraFolders });
