// The panel's one legend: each run once, in the colour its lines have in every chart, with a
// button to take it off the panel; then what the line styles mean (the same for every run).
// The raw, unsmoothed line is not listed: it is the faint shadow behind each smoothed line.
import { $, escapeHtml, runColor, runs, send } from './state';

const KEY = `<li class="key"><svg aria-hidden="true" width="26" height="8"><line x1="1" y1="4" x2="25" y2="4" class="key-line"/></svg>train (smoothed) · chosen</li>
  <li class="key"><svg aria-hidden="true" width="26" height="8"><line x1="1" y1="4" x2="25" y2="4" class="key-line" stroke-dasharray="6 4"/></svg>rejected</li>
  <li class="key"><svg aria-hidden="true" width="26" height="8"><circle cx="13" cy="4" r="3.5" class="key-dot"/></svg>eval</li>`;

/** Draws the legend; `onRemove` runs after a run is taken off the panel. */
export function renderLegend(onRemove: () => void): void {
  const box = $('legend');
  if (runs.size === 0) {
    box.replaceChildren();
    return;
  }
  const items = [...runs.values()].map(
    (run) =>
      `<li class="legend-run" data-run="${escapeHtml(run.meta.name)}" title="${escapeHtml(run.meta.runDir)}"><span class="swatch"></span><span class="name">${escapeHtml(run.meta.name)}</span>${run.meta.detail ? `<span class="detail">${escapeHtml(run.meta.detail)}</span>` : ''}<button class="remove" aria-label="Remove run ${escapeHtml(run.meta.name)} from the panel" title="Remove from the panel">×</button></li>`,
  );
  box.innerHTML = `<ul class="legend-runs" aria-label="Runs">${items.join('')}</ul><ul class="legend-key" aria-label="Line styles">${KEY}</ul>`;
  const list = [...runs.values()];
  box.querySelectorAll<HTMLElement>('.legend-run').forEach((li, i) => {
    const run = list[i];
    // The CSSOM, not a style attribute: the webview's CSP allows no inline styles.
    li.querySelector<HTMLElement>('.swatch')!.style.background = runColor(run);
    li.querySelector('.remove')!.addEventListener('click', () => {
      runs.delete(run.meta.runDir);
      send('metrics/removeRun', { runDir: run.meta.runDir });
      onRemove();
    });
  });
}
