// The labeling editor's header parts that only reflect state: the counts with the progress bar, and
// the guidelines panel. main.ts owns the state and calls these when it changes.
import type { HostToLabel, LabelCountsView } from '../../src/protocol/webview';
import { renderMarkdown } from './text';
import { headerOf } from './view-text';

const $ = (id: string) => document.getElementById(id) as HTMLElement;

export function showCounts(c: LabelCountsView): void {
  const { text, percent, trainPercent, heldPercent, barText, valueText } = headerOf(c);
  $('counts').textContent = text;
  $('progress-fill').style.width = `${trainPercent}%`;
  $('progress-held').style.width = `${heldPercent}%`;
  $('progress').setAttribute('aria-valuenow', String(percent));
  $('progress').setAttribute('aria-valuetext', valueText);
  $('progress-text').textContent = barText;
}

export function showGuidelines(open: boolean, init: HostToLabel['host/didInit'] | undefined): void {
  const aside = $('guidelines');
  aside.hidden = !open;
  $('toggle-guidelines').setAttribute('aria-expanded', String(open));
  if (!init) return;
  aside.innerHTML =
    init.guidelines === null ? `<p class="muted">No guidelines yet: write them in <code></code> beside the data file.</p>` : renderMarkdown(init.guidelines);
  const code = aside.querySelector('p.muted code');
  if (code) code.textContent = init.guidelinesFile;
}
