// The labeling editor's thumbs up/down mode for unpaired lines ({prompt, completion, label}, TRL's
// format for KTO): one completion, 1/A marks it desirable (label true), 2/B undesirable (false).
// Blind mode hides the label already given. The buttons say thumbs up/down while such a line shows.
import type { LabelPairView } from '../../src/protocol/webview';
import { renderText, textOf } from './text';
import { thumbTitle } from './view-text';

const byId = (id: string) => document.getElementById(id) as HTMLElement;

let shownMode: boolean | undefined;

/** The footer buttons' words for the line shown: thumbs for an unpaired line, sides for a pair (set on a change only: keys must paint in a frame). */
export function labelButtons(unpaired: boolean): void {
  if (shownMode === unpaired) return;
  shownMode = unpaired;
  byId('choose-left').textContent = unpaired ? '1 · 👍 Good' : '1 · Left is better';
  byId('choose-right').textContent = unpaired ? '2 · 👎 Bad' : '2 · Right is better';
  // Tooltips, not aria-labels: the accessible name stays the visible text.
  byId('choose-left').title = unpaired ? 'Thumbs up: desirable, label true (1 or A)' : '1 or A';
  byId('choose-right').title = unpaired ? 'Thumbs down: undesirable, label false (2 or B)' : '2 or B';
  // A completion on its own has no tie (main.ts disables it); S moves on without a label.
  byId('skip').textContent = unpaired ? 'S · Skip (no label)' : 'S · Skip';
}

/** The prompt and the one completion, with its label unless blind; an edit box in edit mode. */
export function renderUnpaired(p: LabelPairView, blind: boolean, editing: boolean): HTMLElement[] {
  const prompt = document.createElement('section');
  prompt.className = 'prompt';
  const h = document.createElement('h2');
  h.textContent = 'Prompt';
  prompt.append(h, renderText(p.prompt));
  const col = document.createElement('section');
  col.className = 'response completion';
  col.id = 'left';
  if (!blind && p.kind === 'a') col.classList.add('chosen');
  if (!blind && p.kind === 'b') col.classList.add('rejected');
  const title = document.createElement('h2');
  title.textContent = thumbTitle(p.kind, blind);
  col.append(title);
  if (editing) {
    const area = document.createElement('vscode-textarea') as HTMLElement & { value: string; label: string };
    area.id = 'edit-left';
    area.label = 'Completion';
    area.dataset.index = '0';
    area.setAttribute('rows', '8');
    area.setAttribute('resize', 'vertical');
    area.value = textOf(p.completion!);
    area.dataset.original = area.value;
    col.append(area);
  } else col.append(renderText(p.completion!));
  return [prompt, col];
}
