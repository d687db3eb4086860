// The panel around the charts: a line per run (how it stands, with Resume for a stopped run that
// has a checkpoint), the warnings list, and what to do when the panel has no run. Every run name
// and message goes into the page escaped. The run lines are not a live region: they change with
// every step, and a screen reader would read them out all the time.
import { warningParts } from './warning-text';
import { formatDuration } from '../../src/protocol/format';
import { evalSummaryText } from './axis-values';
import { runStateText } from './text';
import { $, RunData, escapeHtml, fmt, runColor, runs, send } from './state';

const rows = new Map<string, { el: HTMLElement; text: string; resumable: boolean; phase: string }>();

/** The words after a run's name in its line. */
export function summaryText(run: RunData): string {
  const step = run.steps[run.steps.length - 1] ?? 0;
  const eta = run.status === 'running' && run.etaSeconds !== undefined ? ` · ETA ${formatDuration(run.etaSeconds)}` : '';
  const backend = run.meta.backend ? ` · ${run.meta.backend}` : '';
  // Until its first step a run has no numbers to show: say what it is doing instead.
  const state = run.starting ? `starting: ${run.starting}` : runStateText(run.status, step, run.totalSteps, run.resumable);
  return `${state} · ${evalSummaryText(run.evalSteps, run.evalCols.get('rewards/margins') ?? [], run.referenceAt0, fmt)}${eta}${backend}`;
}

/** The phase line under a running run's line: the engine's phase in words and done/total ("" when none). */
export function phaseText(run: RunData): string {
  const p = run.progress;
  if (!p) return '';
  return p.total > 0 ? `${p.text} ${p.done}/${p.total}` : `${p.text}…`;
}

/** Shows the phase line and its bar (a determinate bar when the engine counts, else an indeterminate one). */
function renderPhase(row: { el: HTMLElement; phase: string }, run: RunData): void {
  const text = phaseText(run);
  if (text === row.phase) return;
  row.phase = text;
  const box = row.el.querySelector<HTMLElement>('.phase')!;
  box.hidden = !text;
  // Before the first step the run's line already says it in words ("starting: tokenizing…"): the bar alone.
  box.querySelector('.phase-text')!.textContent = run.starting ? '' : text;
  const bar = box.querySelector('progress')!;
  bar.setAttribute('aria-label', text || 'phase');
  if (run.progress && run.progress.total > 0) {
    bar.max = run.progress.total;
    bar.value = run.progress.done;
  } else bar.removeAttribute('value');
}

function newRow(run: RunData): HTMLElement {
  const el = document.createElement('div');
  el.className = 'run-summary';
  el.dataset.run = run.meta.name;
  el.innerHTML = `<span class="swatch"></span><b>${escapeHtml(run.meta.name)}</b> <span class="state"></span>
    <vscode-button class="resume" hidden aria-label="Resume run ${escapeHtml(run.meta.name)} from its last checkpoint">Resume</vscode-button>
    <div class="phase" hidden><progress></progress> <span class="phase-text"></span></div>`;
  el.querySelector('.resume')!.addEventListener('click', (e) => {
    (e.currentTarget as HTMLElement).setAttribute('disabled', '');
    send('metrics/resume', { runDir: run.meta.runDir });
  });
  return el;
}

/** Called every frame while a run streams: touches the DOM only where a run's line changed. */
export function renderSummary(): void {
  const box = $('summary');
  for (const [dir, row] of rows)
    if (!runs.has(dir)) {
      row.el.remove();
      rows.delete(dir);
    }
  for (const run of runs.values()) {
    let row = rows.get(run.meta.runDir);
    if (!row) {
      row = { el: newRow(run), text: '', resumable: false, phase: '' };
      rows.set(run.meta.runDir, row);
      box.append(row.el);
    }
    row.el.querySelector<HTMLElement>('.swatch')!.style.background = runColor(run);
    const text = summaryText(run);
    if (text !== row.text) row.el.querySelector('.state')!.textContent = row.text = text;
    renderPhase(row, run);
    if (run.resumable !== row.resumable) {
      const button = row.el.querySelector<HTMLElement>('.resume')!;
      button.hidden = !run.resumable;
      button.removeAttribute('disabled');
      row.resumable = run.resumable;
    }
  }
}

/** The host answered after a Resume click (resumed, or refused and said why): the button works again. */
export function resumeAnswered(runDir: string): void {
  rows.get(runDir)?.el.querySelector('.resume')?.removeAttribute('disabled');
}

/**
 * One line per warning (its fact, with the numbers), the advice behind a disclosure: at 700 px with
 * three runs, whole paragraphs pushed every chart off the first screen.
 */
export function renderWarnings(): void {
  const items = [...runs.values()].flatMap((r) =>
    r.warnings.map((w) => {
      const { head, rest } = warningParts(w.message);
      const line = `<b>${escapeHtml(r.meta.name)}</b> step ${w.step}: ${escapeHtml(head)}`;
      return rest
        ? `<li data-code="${escapeHtml(w.code)}"><details><summary>${line}</summary><p>${escapeHtml(rest)}</p></details></li>`
        : `<li data-code="${escapeHtml(w.code)}">${line}</li>`;
    }),
  );
  $('warnings').innerHTML = items.length ? `<ul aria-label="Training-health warnings">${items.join('')}</ul>` : '';
}

/** With no run shown: say how to get one. */
export function renderEmpty(show: boolean): void {
  $('empty').hidden = !show;
}
