// The probe's reward heatmap: each answer's tokens coloured by their implicit reward
// β·(log πθ − log πref) on ONE scale shared by both columns (so the two can be compared), the legend
// bar that states that scale, and the per-token read-out: a styled tooltip that opens on hover and on
// keyboard focus (tokens are one tab stop per answer; arrow keys, Home and End move between them).
import type { ProbeScore } from '../../src/protocol/messages';
import { heat, signed } from './scale';
import { utf8Hex } from '../../src/protocol/token-text';

/** The legend: what the colours mean, the scale's ends and its units. */
export function renderLegend(root: HTMLElement, scale: number, beta: number): void {
  root.hidden = scale === 0;
  if (scale === 0) return;
  const low = `${signed(-scale)}`;
  const high = `${signed(scale)}`;
  root.setAttribute(
    'aria-label',
    `Colour scale shared by both answers: per-token reward β·Δ log-prob from ${low} (red, less likely after tuning) through 0 to ${high} (green, likelier)`,
  );
  root.querySelector('.legend-low')!.textContent = `${low} less likely`;
  root.querySelector('.legend-high')!.textContent = `${high} likelier`;
  root.querySelector('.legend-units')!.textContent =
    `Colour scale, shared by both answers: per-token reward β·Δ log-prob = ${beta}·(log πθ − log πref), in nats`;
}

export const LEGEND_HTML = `
  <div class="legend" id="legend" role="img" hidden>
    <div class="legend-units"></div>
    <div class="legend-bar" aria-hidden="true"></div>
    <div class="legend-ticks" aria-hidden="true"><span class="legend-low"></span><span>0</span><span class="legend-high"></span></div>
  </div>`;

/** The tokens of one scored answer, coloured on `scale`; the first is the answer's tab stop. */
export function renderTokens(box: HTMLElement, score: ProbeScore, scale: number): void {
  score.tokens.forEach((t, i) => {
    const span = document.createElement('span');
    span.className = 'token';
    span.textContent = t.text;
    span.tabIndex = i === 0 ? 0 : -1;
    span.style.background = heat(t.reward, scale);
    span.dataset.reward = String(t.reward);
    span.dataset.policyLogp = String(t.policyLogp);
    span.dataset.referenceLogp = String(t.referenceLogp);
    if (t.partOf !== undefined) span.dataset.partOf = t.partOf;
    if (t.unfinished) span.dataset.unfinished = '';
    box.append(span);
  });
}

/**
 * A token's text for the read-out; a piece of a multi-byte character (no text of its own: the token
 * that ends the character shows it) names that character and its bytes.
 */
export function tokenWords(token: HTMLElement): string {
  const partOf = token.dataset.partOf;
  if (partOf !== undefined) return `▯ part of ${JSON.stringify(partOf)} (bytes ${utf8Hex(partOf)})`;
  if (token.dataset.unfinished !== undefined) return '▯ part of a character the answer stops before finishing';
  return JSON.stringify(token.textContent ?? '');
}

/** Read-out lines for a token (also used by the tests through the tooltip's text). */
function readout(token: HTMLElement): [string, string][] {
  const d = token.dataset;
  return [
    ['token', tokenWords(token)],
    ['reward β·Δ', signed(Number(d.reward))],
    ['log πθ (policy)', Number(d.policyLogp).toFixed(4)],
    ['log πref (reference)', Number(d.referenceLogp).toFixed(4)],
  ];
}

/**
 * One tooltip element for every token under `root`, by event delegation (listeners added once, not
 * per render). The focused or hovered token points at it with aria-describedby.
 */
export function installTokenTooltip(root: HTMLElement, tip: HTMLElement): void {
  let owner: HTMLElement | undefined;
  const show = (token: HTMLElement) => {
    owner?.removeAttribute('aria-describedby');
    owner = token;
    tip.replaceChildren(
      ...readout(token).map(([k, v]) => {
        const row = document.createElement('div');
        const key = document.createElement('span');
        key.className = 'tip-key';
        key.textContent = `${k} `;
        const val = document.createElement('span');
        val.className = 'tip-value';
        val.textContent = v;
        row.append(key, val);
        return row;
      }),
    );
    tip.hidden = false;
    token.setAttribute('aria-describedby', tip.id);
    // Below the token, kept inside the viewport.
    const r = token.getBoundingClientRect();
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    const left = Math.max(4, Math.min(r.left, window.innerWidth - w - 4));
    const top = r.bottom + 6 + h > window.innerHeight ? r.top - h - 6 : r.bottom + 6;
    tip.style.left = `${left}px`;
    tip.style.top = `${Math.max(4, top)}px`;
  };
  const hide = () => {
    owner?.removeAttribute('aria-describedby');
    owner = undefined;
    tip.hidden = true;
  };
  const tokenOf = (t: EventTarget | null) => (t instanceof HTMLElement && t.classList.contains('token') ? t : undefined);
  root.addEventListener('mouseover', (e) => {
    const t = tokenOf(e.target);
    if (t) show(t);
  });
  root.addEventListener('mouseout', (e) => {
    if (tokenOf(e.target) && document.activeElement !== e.target) hide();
  });
  root.addEventListener('focusin', (e) => {
    const t = tokenOf(e.target);
    if (t) show(t);
  });
  root.addEventListener('focusout', (e) => {
    if (tokenOf(e.target)) hide();
  });
  root.addEventListener('keydown', (e) => {
    const t = tokenOf(e.target);
    if (!t) return;
    if (e.key === 'Escape') return hide();
    const tokens = [...t.parentElement!.querySelectorAll<HTMLElement>('.token')];
    const i = tokens.indexOf(t);
    const j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tokens.length - 1 }[e.key];
    if (j === undefined || j < 0 || j >= tokens.length) return;
    e.preventDefault();
    // Roving tab stop: the answer keeps one, on the token last visited.
    t.tabIndex = -1;
    tokens[j].tabIndex = 0;
    tokens[j].focus();
  });
}
