// The labeling editor's thumbs up/down mode for unpaired lines ({prompt, completion, label}, TRL's
// format for KTO): one completion, 1/A marks it desirable (label true), 2/B undesirable (false).
// Blind mode hides the label already given. The buttons say thumbs up/down while such a line shows.
import type { LabelPairView } from '../../src/protocol/webview';
import { renderText, textOf } from './text';
import { thumbTitle } from './view-text';

const byId = (id: string) => document.getElementById(id) as HTMLElement;

/** What the two pick buttons say: thumbs (unpaired line), sides (a pair), or confirm/flip (a queued pair, chosen on the left). */
export type PickMode = 'thumbs' | 'sides' | 'review';
let shownMode: PickMode | undefined;

const WORDS: Record<PickMode, [string, string, string, string]> = {
  thumbs: ['1 · 👍 Good', '2 · 👎 Bad', 'Thumbs up: desirable, label true (1 or A)', 'Thumbs down: undesirable, label false (2 or B)'],
  sides: ['1 · Left is better', '2 · Right is better', '1 or A', '2 or B'],
  review: [
    '1 · Confirm',
    '2 · Flip',
    'Confirm: the label is right, chosen stays chosen (1 or A)',
    'Flip: the label is wrong, swap chosen and rejected (2 or B)',
  ],
};

/** The footer buttons' words for the line shown (set on a change only: keys must paint in a frame). */
export function labelButtons(mode: PickMode): void {
  if (shownMode === mode) return;
  shownMode = mode;
  const [left, right, leftTitle, rightTitle] = WORDS[mode];
  byId('choose-left').textContent = left;
  byId('choose-right').textContent = right;
  // Tooltips, not aria-labels: the accessible name stays the visible text.
  byId('choose-left').title = leftTitle;
  byId('choose-right').title = rightTitle;
  // A completion on its own has no tie (main.ts disables it); S moves on without a label.
  byId('skip').textContent = mode === 'thumbs' ? 'S · Skip (no label)' : 'S · Skip';
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
