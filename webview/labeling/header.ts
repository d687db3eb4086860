// The labeling editor's parts that only reflect state: the counts with the progress bar, the
// guidelines panel, and the status and notice lines. main.ts owns the state and calls these.
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

export function status(text: string): void {
  $('status').textContent = text;
}

/** What the last decision did beyond the usual (a label dropped); written only when it changes: keys must paint in a frame. */
export function notice(text: string): void {
  const el = $('notice');
  if (el.textContent !== text) el.textContent = text;
}
