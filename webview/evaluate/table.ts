// The table of evaluated runs and checkpoints: win rate with its 95% interval, length-controlled
// win rate, KL with its interval, mean reward and mean lengths, sortable by any column (a header
// button; aria-sort says how). Each row's first cell is a button: click, Enter or Space selects.
import { Row, SORT_KEYS, SortKey, num, numCi, pct, pctCi, sortRows } from './model';
import { $, escapeHtml, ui } from './state';

const HEADERS: Record<SortKey, string> = {
  series: 'Run · model',
  winRate: 'Win rate (95% CI)',
  lcWinRate: 'LC win rate',
  kl: 'KL (95% CI)',
  meanReward: 'Mean reward',
  meanLength: 'Mean length (policy / reference)',
};

/** A KL from answers not sampled from π itself (temperature ≠ 1, top-k, top-p) estimates the sampler's divergence. */
const SAMPLER =
  ' <span class="muted" title="Answers were not sampled from the policy itself (temperature, top-k or top-p): this is the sampler\'s KL, not KL(π‖π_ref)">(sampler)</span>';

export function renderTable(rows: Row[], onSort: (key: SortKey) => void, onSelect: (dir: string) => void): void {
  const table = $('table');
  const head = SORT_KEYS.map((k) => {
    const sort = ui.sort === k ? (ui.descending ? 'descending' : 'ascending') : 'none';
    const arrow = ui.sort === k ? (ui.descending ? ' ▼' : ' ▲') : '';
    return `<th scope="col" aria-sort="${sort}"><button class="sort" data-key="${k}">${HEADERS[k]}<span aria-hidden="true">${arrow}</span></button></th>`;
  }).join('');
  const body = sortRows(rows, ui.sort, ui.descending)
    .map((r) => {
      const selected = r.dir === ui.selected;
      const flag = r.notIndependent ? ' <span class="muted" title="A DPO run\'s implicit reward: not independent evidence">(implicit)</span>' : '';
      return `<tr class="${selected ? 'selected' : ''}" data-dir="${escapeHtml(r.dir)}">
        <th scope="row"><button class="pick" aria-pressed="${selected}" data-dir="${escapeHtml(r.dir)}">${escapeHtml(r.series)} · ${escapeHtml(r.name)}</button></th>
        <td data-label="${HEADERS.winRate}">${pct(r.winRate)}${flag}<span class="ci">${pctCi(r.winRateCi)}</span></td>
        <td data-label="${HEADERS.lcWinRate}">${pct(r.lcWinRate)}</td>
        <td data-label="${HEADERS.kl}">${num(r.kl)}${r.klExact ? '' : SAMPLER}<span class="ci">${numCi(r.klCi)}</span></td>
        <td data-label="${HEADERS.meanReward}">${num(r.meanReward)}<span class="ci">${numCi(r.meanRewardCi)}</span></td>
        <td data-label="${HEADERS.meanLength}">${num(r.meanLength, 1)} / ${num(r.meanLengthReference, 1)}</td>
      </tr>`;
    })
    .join('');
  table.innerHTML = `<caption class="visually-hidden">Evaluations: one row per run and checkpoint</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody>`;
  for (const b of table.querySelectorAll<HTMLButtonElement>('button.sort')) b.addEventListener('click', () => onSort(b.dataset.key as SortKey));
  for (const b of table.querySelectorAll<HTMLButtonElement>('button.pick')) b.addEventListener('click', () => onSelect(b.dataset.dir!));
  // A click anywhere on a row selects it too (the button is the keyboard's way in).
  for (const tr of table.querySelectorAll<HTMLTableRowElement>('tbody tr'))
    tr.addEventListener('click', (e) => {
      if (!(e.target as HTMLElement).closest('button')) onSelect(tr.dataset.dir!);
    });
}
