// The labeling editor (browser side): one pair at a time, keyboard first. Keys are answered here,
// from views the host prefetched, so a decision or a move paints in the same frame; the host
// applies the edit to the TextDocument and sends fresh views back. Every action has a button.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import {
  HostToLabel,
  LabelCountsView,
  LabelDecision,
  LabelPairView,
  LabelToHost,
  WEBVIEW_PROTOCOL_VERSION,
  parseHostToLabel,
} from '../../src/protocol/webview';
import { assertNever } from '../../src/protocol/assert-never';
import { PAGE_HTML } from './page';
import { renderText, textOf } from './text';
import { KIND_TEXT, droppedLabelNote, formatTime, givenNote, sideTitle, suspicionText } from './view-text';
import { helpKey, toggleHelp } from './help';
import { labelButtons, renderUnpaired } from './unpaired';
import { notice, showCounts, showGuidelines, status } from './header';
import { editBar, editedTexts } from './edit-box';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

interface State {
  line: number;
  guidelinesOpen: boolean;
}
const saved = vscode.getState() as State | undefined;
const state: State = saved ?? { line: 0, guidelinesOpen: false };
let init: HostToLabel['host/didInit'] | undefined;
let blind = false;
const cache = new Map<number, LabelPairView>();
let current: LabelPairView | undefined;
let editing = false;
let counts: LabelCountsView | undefined;

function send<K extends keyof LabelToHost>(type: K, params: LabelToHost[K]): void {
  vscode.postMessage({ type, params });
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const app = $('app');
app.innerHTML = PAGE_HTML;

/** Which file response (0 = a) is on the left. */
const leftIndex = (p: LabelPairView) => (p.swapped ? 1 : 0);

function renderPair(): void {
  const root = $('pair');
  root.replaceChildren();
  const p = current;
  if (!p) {
    root.textContent = init ? 'This file has no lines yet.' : 'Loading…';
    return;
  }
  state.line = p.line;
  vscode.setState(state);
  $('position').textContent = `line ${p.line}`;
  const head = document.createElement('div');
  head.className = 'pair-head';
  const badge = document.createElement('vscode-badge');
  const decided = p.kind === 'a' || p.kind === 'b' || p.kind === 'tie' || p.kind === 'skip';
  badge.textContent = blind && decided ? 'decided' : (KIND_TEXT[p.kind] ?? p.kind);
  badge.id = 'kind';
  badge.dataset.kind = p.kind;
  head.append(badge);
  if (!blind && decided && p.annotator) {
    const who = document.createElement('span');
    who.className = 'muted';
    who.textContent = ` by ${p.annotator}${p.labeledAt ? `, ${formatTime(p.labeledAt)}` : ''}`;
    if (p.labeledAt) who.title = p.labeledAt;
    head.append(who);
  }
  if (p.suspicion) {
    const why = document.createElement('span');
    why.className = 'suspicion';
    why.id = 'suspicion';
    why.textContent = suspicionText(p.suspicion);
    head.append(why);
  } else if (p.review) {
    const note = document.createElement('span');
    note.className = 'muted given-note';
    note.id = 'given-note';
    note.textContent = givenNote(blind);
    head.append(note);
  }
  root.append(head);
  // A line with problems cannot take a decision: its buttons say so by being disabled.
  const decidable = p.responses !== undefined || p.completion !== undefined;
  for (const id of ['choose-left', 'choose-right', 'skip', 'edit', 'preview-tokens']) $(id).toggleAttribute('disabled', !decidable);
  $('tie').toggleAttribute('disabled', !decidable || p.unpaired === true);
  // In a review queue, without blind mode, the left side holds the file's chosen answer: 1 confirms, 2 flips.
  labelButtons(p.unpaired === true && decidable ? 'thumbs' : p.suspicion !== undefined && !blind && !p.swapped ? 'review' : 'sides');
  if (p.unpaired && p.completion !== undefined) {
    root.append(...renderUnpaired(p, blind, editing));
    if (editing) editBar(root, saveEdit, cancelEdit, () => editing);
    return;
  }
  if (!decidable) {
    const problems = document.createElement('ul');
    problems.id = 'problems';
    for (const pr of p.problems) {
      const li = document.createElement('li');
      li.textContent = `${pr.field ? `${pr.field}: ` : ''}${pr.message}`;
      problems.append(li);
    }
    const raw = document.createElement('pre');
    raw.className = 'raw';
    raw.textContent = p.raw ?? '';
    const open = document.createElement('vscode-button');
    open.id = 'open-text';
    open.textContent = 'Open in Text Editor';
    open.addEventListener('click', () => send('label/openText', { line: p.line }));
    root.append(problems, raw, open);
    return;
  }
  const prompt = document.createElement('section');
  prompt.className = 'prompt';
  const h = document.createElement('h2');
  h.textContent = 'Prompt';
  prompt.append(h, renderText(p.prompt));
  root.append(prompt);

  const grid = document.createElement('div');
  grid.className = 'responses';
  const left = leftIndex(p);
  [left, 1 - left].forEach((fileIndex, side) => {
    const col = document.createElement('section');
    col.className = 'response';
    col.id = side === 0 ? 'left' : 'right';
    const letter = fileIndex === 0 ? 'a' : 'b';
    if (!blind && p.kind === letter) col.classList.add('chosen');
    if (!blind && (p.kind === 'a' || p.kind === 'b') && p.kind !== letter) col.classList.add('rejected');
    const title = document.createElement('h2');
    title.textContent = sideTitle(side as 0 | 1, letter, p.kind, blind);
    col.append(title);
    if (editing) {
      const area = document.createElement('vscode-textarea') as HTMLElement & { value: string; label: string };
      area.id = `edit-${side === 0 ? 'left' : 'right'}`;
      // The inner textarea's name: the component reads the property, not an attribute or a <label>.
      area.label = `${side === 0 ? 'Left' : 'Right'} response`;
      area.dataset.index = String(fileIndex);
      area.setAttribute('rows', '8');
      area.setAttribute('resize', 'vertical');
      area.value = textOf(p.responses![fileIndex as 0 | 1]);
      area.dataset.original = area.value;
      col.append(area);
    } else col.append(renderText(p.responses![fileIndex as 0 | 1]));
    grid.append(col);
  });
  root.append(grid);
  if (editing) editBar(root, saveEdit, cancelEdit, () => editing);
}

function renderCounts(): void {
  if (counts) showCounts(counts);
}

function showLine(line: number): void {
  const cached = cache.get(line);
  if (cached) {
    current = cached;
    renderPair();
    send('label/prefetch', { line });
  } else send('label/show', { direction: 'at', line });
}

function move(step: 1 | -1): void {
  if (!current) return;
  const target = step === 1 ? current.next : current.prev;
  if (target === 0) {
    status(step === 1 ? 'Last line of the file.' : 'First line of the file.');
    return;
  }
  status('');
  showLine(target);
}

function decide(d: 'left' | 'right' | 'tie' | 'skip'): void {
  const p = current;
  if (!p?.responses && p?.completion === undefined) {
    status('This line is not a pair that can be labeled; fix it in the text editor (Open in Text Editor).');
    return;
  }
  if (p.unpaired && (d === 'tie' || d === 'skip')) {
    // Thumbs only: a skip moves on and leaves the line unlabeled (TRL's label is true or false).
    if (d === 'skip') move(1);
    else status('An unpaired line takes 👍 (1) or 👎 (2); there is no tie.');
    return;
  }
  const decision: LabelDecision = d === 'tie' || d === 'skip' ? d : (d === 'left') === !p.swapped ? 'a' : 'b';
  send('label/decide', { line: p.line, decision });
  // A tie or skip takes a label out of training: say so (the counts and the bar change too).
  notice((d === 'tie' || d === 'skip') && (p.kind === 'a' || p.kind === 'b') ? `⚠ ${droppedLabelNote(p.line, d)}` : '');
  // The host's fresh view replaces this one when the edit lands; until then show the decision.
  cache.set(p.line, { ...p, kind: decision });
  if (p.next) showLine(p.next);
  else {
    current = cache.get(p.line);
    renderPair();
    status('Last line of the file.');
  }
}

function startEdit(): void {
  if (!current?.responses && current?.completion === undefined) return;
  editing = true;
  renderPair();
}

function saveEdit(): void {
  if (!current) return;
  const texts = editedTexts();
  editing = false;
  if (texts.some((t) => t !== null)) send('label/edit', { line: current.line, texts });
  renderPair();
  $('pair').focus();
}

function cancelEdit(): void {
  editing = false;
  renderPair();
  $('pair').focus();
}

function setBlind(on: boolean): void {
  blind = on;
  renderBlind();
  send('label/setBlind', { blind: on });
  refetch();
}

/**
 * Drops every view and asks for the current line again. Views the host sent before it saw the
 * change (prefetches in flight) arrive before its answer and are ignored: they hold the old sides.
 */
let staleUntilShow = false;
function refetch(line = current?.line): void {
  cache.clear();
  if (!line) return;
  staleUntilShow = true;
  editing = false;
  send('label/show', { direction: 'at', line });
}

function renderBlind(): void {
  $('blind').textContent = `Blind: ${blind ? 'on' : 'off'}`;
  $('blind').setAttribute('aria-pressed', String(blind));
}

function renderGuidelines(): void {
  showGuidelines(state.guidelinesOpen, init);
}

const ACTIONS: Record<string, () => void> = {
  'choose-left': () => decide('left'),
  'choose-right': () => decide('right'),
  tie: () => decide('tie'),
  skip: () => decide('skip'),
  undo: () => {
    notice('');
    send('label/undo', {});
  },
  prev: () => move(-1),
  next: () => move(1),
  'next-todo': () => current && send('label/show', { direction: 'todo', line: current.line }),
  edit: startEdit,
  'preview-tokens': () => current && send('label/previewTokens', { line: current.line }),
  blind: () => setBlind(!blind),
  'toggle-guidelines': () => {
    state.guidelinesOpen = !state.guidelinesOpen;
    vscode.setState(state);
    renderGuidelines();
  },
  'help-button': () => toggleHelp(),
  'help-close': () => toggleHelp(false),
};
for (const [id, fn] of Object.entries(ACTIONS)) {
  $(id).addEventListener('click', () => {
    fn();
    // A clicked button keeps no focus that would swallow the next key (the help manages its own).
    if (!editing && $('help').hidden && id !== 'help-close' && id !== 'help-button') $('pair').focus();
  });
}

const KEYS: Record<string, () => void> = {
  '1': ACTIONS['choose-left'],
  a: ACTIONS['choose-left'],
  '2': ACTIONS['choose-right'],
  b: ACTIONS['choose-right'],
  t: ACTIONS.tie,
  s: ACTIONS.skip,
  Backspace: ACTIONS.undo,
  ArrowRight: ACTIONS.next,
  j: ACTIONS.next,
  ArrowLeft: ACTIONS.prev,
  k: ACTIONS.prev,
  g: ACTIONS['next-todo'],
  e: startEdit,
  v: ACTIONS['preview-tokens'],
  '?': () => toggleHelp(),
  p: () => current && send('label/show', { direction: 'bad', line: current.line }),
};

let slowestKeyMs = 0;
window.addEventListener('keydown', (ev) => {
  if (editing) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      saveEdit();
    } else if (ev.key === 'Escape') cancelEdit();
    return;
  }
  if (helpKey(ev)) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return; // VS Code's own keys (undo, save, palette)
  const action = KEYS[ev.key.length === 1 ? ev.key.toLowerCase() : ev.key];
  if (!action) return;
  ev.preventDefault();
  const started = performance.now();
  action();
  // How long the key took to be answered on screen (handler + layout), for the large-file figures.
  void document.body.offsetHeight;
  const ms = performance.now() - started;
  slowestKeyMs = Math.max(slowestKeyMs, ms);
  document.body.dataset.lastKeyMs = ms.toFixed(2);
  document.body.dataset.slowestKeyMs = slowestKeyMs.toFixed(2);
});

window.addEventListener('message', (event) => {
  const parsed = parseHostToLabel(event.data);
  if (!parsed.ok) {
    status(`ignored a malformed message: ${parsed.error}`);
    return;
  }
  const m = parsed.value;
  switch (m.type) {
    case 'host/didInit':
      init = m.params;
      $('file').textContent = init.file;
      $('file').title = init.file;
      blind = init.blind;
      renderBlind();
      renderGuidelines();
      if (saved?.line) send('label/show', { direction: 'at', line: saved.line });
      break;
    case 'label/didShow':
      staleUntilShow = false;
      cache.set(m.params.pair.line, m.params.pair);
      current = m.params.pair;
      editing = false;
      status('');
      renderPair();
      send('label/prefetch', { line: current.line });
      break;
    case 'label/didUpdate':
      if (staleUntilShow) break;
      for (const p of m.params.pairs) cache.set(p.line, p);
      if (current && !editing) {
        const fresh = cache.get(current.line);
        if (fresh && fresh !== current) {
          current = fresh;
          renderPair();
        }
      }
      break;
    case 'label/didCounts':
      counts = m.params.counts;
      renderCounts();
      break;
    case 'label/didReset':
      refetch(m.params.line);
      break;
    case 'label/didMeasure':
      // For bench/labeling.ts: how long opening took on the host's clock.
      document.body.dataset.firstPairMs = m.params.firstPairMs.toFixed(0);
      if (m.params.indexedMs !== undefined) document.body.dataset.indexedMs = m.params.indexedMs.toFixed(0);
      document.body.dataset.sessionMs = m.params.sessionMs.toFixed(0);
      document.body.dataset.readyMs = m.params.readyMs.toFixed(0);
      break;
    case 'host/didError':
      status(m.params.message);
      break;
    default:
      assertNever(m);
  }
});

renderPair();
$('pair').focus();
send('webview/ready', { protocolVersion: WEBVIEW_PROTOCOL_VERSION });
