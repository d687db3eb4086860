// The drill-down: a clicked (or Enter-chosen) step's pairs, shown over its chart rather than below
// every chart, worst margin first, each with its prompt and the first line of both responses (wrapped).
// A pair opens in the labeling editor (the host decides where); Escape or the close button returns to the chart.
import type { HostToMetrics } from '../../src/protocol/webview';
import type { MetricsSplit } from '../../src/protocol/run-folder';
import { RunData, escapeHtml, fmt, runs, send } from './state';
import { firstLine } from './text';

/** The chart that asked for pairs, and whether the keyboard did (then focus moves into the list). */
let pending: { chartId: string; keyboard: boolean } | undefined;

export function requestPairs(chartId: string, run: RunData, step: number, split: MetricsSplit, keyboard: boolean): void {
  pending = { chartId, keyboard };
  send('metrics/requestPairs', { runDir: run.meta.runDir, step, split });
}

function cardOf(chartId: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`.chart[data-chart="${chartId}"]`);
}

/** Closes any open drill-down; focus goes back to its chart when it was inside. */
export function closeDrillDown(): void {
  for (const d of document.querySelectorAll<HTMLElement>('.drill')) {
    const hadFocus = d.contains(document.activeElement);
    const card = d.closest('.chart');
    d.remove();
    if (hadFocus) card?.querySelector<HTMLElement>('.plot')?.focus();
  }
}

export function renderDrillDown(p: HostToMetrics['metrics/didPairs']): void {
  const target = pending;
  pending = undefined;
  const card = target ? cardOf(target.chartId) : null;
  if (!target || !card) return;
  closeDrillDown();
  const run = runs.get(p.runDir);
  const name = run?.meta.name ?? p.runDir.split(/[\\/]/).pop()!;
  const texts = new Map(p.texts.map((t) => [t.line, t]));
  const section = document.createElement('section');
  section.className = 'drill';
  section.setAttribute('role', 'dialog');
  section.setAttribute('aria-label', `Pairs of ${name} at step ${p.step} (${p.split})`);
  const count = p.pairs.length === 1 ? '1 pair' : `${p.pairs.length} pairs`;
  section.innerHTML = `<div class="drill-head"><h4 class="drill-title">${escapeHtml(name)} · step ${p.step} (${p.split}) · ${count}${p.pairs.length > 1 ? ', worst margin first' : ''}</h4>
    <vscode-button class="close" secondary aria-label="Close the pairs of step ${p.step}">Close</vscode-button></div>
    <div class="drill-pairs" role="list"></div>`;
  const list = section.querySelector('.drill-pairs')!;
  if (!p.pairs.length) list.outerHTML = `<p class="muted">No pairs were logged at step ${p.step} of ${escapeHtml(name)}.</p>`;
  for (const pair of p.pairs) {
    const t = texts.get(pair.line);
    const item = document.createElement('div');
    item.setAttribute('role', 'listitem');
    const button = document.createElement('button');
    button.className = 'pair';
    const nums = `line ${pair.line} · margin ${fmt(pair.margin)} · chosen ${fmt(pair.chosen_reward)} · rejected ${fmt(pair.rejected_reward)} · loss ${fmt(pair.loss)}`;
    const row = (cls: string, tag: string, text: string | undefined) =>
      text === undefined ? '' : `<span class="${cls}"><span class="tag">${tag}</span> ${escapeHtml(firstLine(text))}</span>`;
    button.innerHTML =
      `<span class="pair-nums">${nums}</span>` +
      (t ? row('pair-prompt', 'prompt', t.prompt) + row('pair-chosen', '✓ chosen', t.chosen) + row('pair-rejected', '✗ rejected', t.rejected) : '');
    button.title = 'Open this pair in the labeling editor';
    // The panel's width decides where the editor opens (beside a wide panel, below a narrow one).
    button.addEventListener('click', () => send('metrics/openLine', { runDir: p.runDir, line: pair.line, split: p.split, panelWidth: window.innerWidth }));
    item.append(button);
    list.append(item);
  }
  section.querySelector('.close')!.addEventListener('click', closeDrillDown);
  section.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      closeDrillDown();
    }
  });
  card.append(section);
  if (target.keyboard) (section.querySelector<HTMLElement>('button.pair') ?? section.querySelector<HTMLElement>('.close'))?.focus();
}
