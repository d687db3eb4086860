// The panel around the charts: the run chips, the summary line per run, the warnings list and the
// table of a step's pairs. Every run name and message goes into the page escaped.
import type { HostToMetrics } from '../../src/protocol/webview';
import { formatDuration } from '../../src/protocol/format';
import { bestEvalMargin } from './axis-values';
import { $, escapeHtml, fmt, runs, send } from './state';

/** The run chips; `onRemove` is called after a run is taken off the panel. */
export function renderRuns(onRemove: () => void): void {
  const box = $('runs');
  box.replaceChildren();
  for (const run of runs.values()) {
    const chip = document.createElement('span');
    chip.className = 'run-chip';
    chip.style.borderColor = run.color;
    chip.title = run.meta.runDir;
    chip.innerHTML = `<span class="swatch"></span><span class="name"></span><button class="remove" title="Remove from the panel">×</button>`;
    (chip.querySelector('.swatch') as HTMLElement).style.background = run.color;
    chip.querySelector('.name')!.textContent = run.meta.name;
    chip.querySelector('.remove')!.setAttribute('aria-label', `Remove ${run.meta.name} from the panel`);
    chip.querySelector('.remove')!.addEventListener('click', () => {
      runs.delete(run.meta.runDir);
      send('metrics/removeRun', { runDir: run.meta.runDir });
      onRemove();
    });
    box.append(chip);
  }
}

let lastSummary = '';

export function renderSummary(): void {
  const parts: string[] = [];
  for (const run of runs.values()) {
    const step = run.steps[run.steps.length - 1] ?? 0;
    const best = bestEvalMargin(run.evalSteps, run.evalCols.get('rewards/margins') ?? []);
    const total = run.totalSteps ? `/${run.totalSteps}` : '';
    const eta = run.status === 'running' && run.etaSeconds !== undefined ? ` · ETA ${formatDuration(run.etaSeconds)}` : '';
    const backend = run.meta.backend ? ` · ${run.meta.backend}` : '';
    const name = escapeHtml(run.meta.name);
    parts.push(
      `<span class="run-summary" data-run="${name}"><b>${name}</b> ${run.status} · step <span class="step">${step}${total}</span>${Number.isFinite(best) ? ` · best eval margin ${fmt(best)}` : ''}${eta}${escapeHtml(backend)}</span>`,
    );
  }
  // Called every frame while a run streams: touch the DOM only when the text changed.
  const html = parts.join('');
  if (html !== lastSummary) $('summary').innerHTML = lastSummary = html;
}

export function renderWarnings(): void {
  const items = [...runs.values()].flatMap((r) =>
    r.warnings.map((w) => `<li><b>${escapeHtml(r.meta.name)}</b> step ${w.step} [${w.code}] ${escapeHtml(w.message)}</li>`),
  );
  $('warnings').innerHTML = items.length ? `<ul>${items.join('')}</ul>` : '';
}

export function renderPairs(p: HostToMetrics['metrics/didPairs']): void {
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
