// The selected evaluation, prompt by prompt: the policy's and the reference's answers side by side
// with their lengths, rewards and log-probs, every judge's verdict with its reasons, and two
// actions: "Open in Probe" (that prompt, on that model) and "Add as pair" (by the chosen judge).
import type { EvalResultLine, JudgeVerdict } from '../../src/protocol/eval-results';
import type { EvalPairView } from '../../src/protocol/webview-evaluate';
import { num } from './model';
import { $, escapeHtml, send, ui } from './state';

const PAGE = 50;
let shownCount = PAGE;

function answer(line: EvalResultLine | undefined, title: string): string {
  if (!line) return `<div class="answer"><h4>${title}</h4><p class="muted">no answer in results.jsonl</p></div>`;
  const facts = [
    `${line.tokens} tokens`,
    line.finish_reason ? `ended: ${escapeHtml(line.finish_reason)}` : '',
    line.reward !== undefined ? `reward ${num(line.reward)}` : '',
    line.implicit_reward !== undefined ? `implicit reward ${num(line.implicit_reward)}` : '',
    Number.isFinite(line.policy_logp) ? `log π ${num(line.policy_logp, 2)}` : '',
    Number.isFinite(line.reference_logp) ? `log π_ref ${num(line.reference_logp, 2)}` : '',
  ].filter(Boolean);
  return `<div class="answer"><h4>${title}</h4><div class="text">${escapeHtml(line.text)}</div><p class="facts">${facts.join(' · ')}</p></div>`;
}

function verdictText(name: string, v: JudgeVerdict): string {
  const word = { win: 'policy better', loss: 'reference better', tie: 'tie' }[v.verdict];
  const margin = v.margin !== undefined ? ` (margin ${num(v.margin)})` : '';
  const orders = (v.orders ?? [])
    .map(
      (o) =>
        `<li>${escapeHtml(o.first)} shown first: preferred ${escapeHtml(o.preferred)}${o.cached ? ' (cached)' : ''}${o.reason ? ` — ${escapeHtml(o.reason)}` : ''}</li>`,
    )
    .join('');
  return `<li><b>${escapeHtml(name)}</b>: ${word}${margin}${orders ? `<ul>${orders}</ul>` : ''}</li>`;
}

function card(p: EvalPairView, dir: string): string {
  const verdicts = Object.entries(p.policy?.verdicts ?? {});
  const head = `Prompt ${p.promptIndex + 1}${p.sample > 0 ? `, sample ${p.sample + 1}` : ''}`;
  return `<article class="pair-card" aria-label="${escapeHtml(head)}">
    <h3>${escapeHtml(head)}</h3>
    <div class="prompt text">${escapeHtml(p.prompt)}</div>
    <div class="answers">${answer(p.policy, 'Policy')}${answer(p.reference, 'Reference')}</div>
    ${verdicts.length ? `<ul class="verdicts">${verdicts.map(([n, v]) => verdictText(n, v)).join('')}</ul>` : '<p class="muted">No judge verdicts.</p>'}
    <div class="actions">
      <vscode-button secondary class="probe" data-dir="${escapeHtml(dir)}" data-prompt="${p.promptIndex}" data-sample="${p.sample}">Open in Probe</vscode-button>
      <vscode-button secondary class="add-pair" data-dir="${escapeHtml(dir)}" data-prompt="${p.promptIndex}" data-sample="${p.sample}"
        ${ui.judge ? '' : 'disabled'} aria-label="Add as pair: prompt ${p.promptIndex + 1}${p.sample > 0 ? ` sample ${p.sample + 1}` : ''} by ${escapeHtml(ui.judge ?? 'no judge')}">Add as pair</vscode-button>
    </div>
  </article>`;
}

/** Renders the pairs the host sent for the selected evaluation (the first 50, then more on request). */
export function renderPairs(view: { dir: string; pairs: EvalPairView[]; total: number } | undefined, title: string, reset: boolean): void {
  const box = $('pairs');
  $('pairs-card').hidden = !view;
  if (!view) return;
  if (reset) shownCount = PAGE;
  $('pairs-title').textContent = `Answers: ${title}`;
  const shown = view.pairs.slice(0, shownCount);
  const more = view.pairs.length > shown.length;
  const cut = view.total > view.pairs.length ? ` (the first ${view.pairs.length} of ${view.total})` : '';
  box.innerHTML =
    `<p class="muted">${view.total} prompt${view.total === 1 ? '' : 's'} and samples${cut}. "Add as pair" uses the judge chosen above.</p>` +
    shown.map((p) => card(p, view.dir)).join('') +
    (more ? `<vscode-button id="more-pairs" secondary>Show ${Math.min(PAGE, view.pairs.length - shown.length)} more</vscode-button>` : '');
  for (const b of box.querySelectorAll<HTMLElement>('.probe'))
    b.addEventListener('click', () =>
      send('evaluate/openInProbe', { dir: b.dataset.dir!, promptIndex: Number(b.dataset.prompt), sample: Number(b.dataset.sample) }),
    );
  for (const b of box.querySelectorAll<HTMLElement>('.add-pair'))
    b.addEventListener('click', () => {
      if (!ui.judge) return;
      send('evaluate/addPair', { dir: b.dataset.dir!, promptIndex: Number(b.dataset.prompt), sample: Number(b.dataset.sample), judge: ui.judge });
    });
  box.querySelector('#more-pairs')?.addEventListener('click', () => {
    shownCount += PAGE;
    renderPairs(view, title, false);
  });
}
