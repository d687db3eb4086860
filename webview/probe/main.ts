// The probe panel (browser side): a prompt and sampling controls; the policy's and the reference's
// answers streaming side by side; each answer's implicit reward as a per-token heatmap; and
// promotion of the pair to a preference file. State survives hide/show and reloads (setState).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { ProbeSampling, ProbeScore, ProbeWhich } from '../../src/protocol/messages';
import { implausibleNote } from './plausible';
import { HostToProbe, ProbeToHost, WEBVIEW_PROTOCOL_VERSION, parseHostToProbe } from '../../src/protocol/webview';
import { assertNever } from '../../src/protocol/assert-never';
import { LEGEND_HTML, installTokenTooltip, renderLegend, renderTokens } from './heatmap';
import { sharedScale } from './scale';
import { finishText } from './finish';
import { modelLabel } from './model-label';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

interface Answer {
  text: string;
  done: boolean;
  reason?: string;
  score?: ProbeScore;
  /** Where the text came from, shown in the column header. */
  source?: string;
  /** The max-tokens limit it was generated with (said when it was reached). */
  maxTokens?: number;
}

interface State {
  prompt: string;
  chat: boolean;
  sampling: ProbeSampling;
  answers: Record<ProbeWhich, Answer>;
  /** The pair promoted from these answers: Promote stays disabled until new answers come. */
  promoted?: { file: string; line: number };
}

const WHICH: ProbeWhich[] = ['policy', 'reference'];
const emptyAnswer = (): Answer => ({ text: '', done: false });
const state: State = (vscode.getState() as State | undefined) ?? {
  prompt: '',
  chat: false,
  sampling: { maxNewTokens: 64, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] },
  answers: { policy: emptyAnswer(), reference: emptyAnswer() },
};
let init: HostToProbe['host/didInit'] | undefined;
let generating = false;

function send<K extends keyof ProbeToHost>(type: K, params: ProbeToHost[K]): void {
  vscode.postMessage({ type, params });
}

function save(): void {
  vscode.setState(state);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const app = document.getElementById('app')!;
app.innerHTML = `
  <header><h1>Probe</h1><div id="models" class="muted"><vscode-progress-ring class="inline-ring" aria-hidden="true"></vscode-progress-ring> Loading the policy and reference models…</div></header>
  <main>
  <section class="prompt">
    <label class="data-pick">from the run's data <vscode-single-select id="data-pair" combobox label="A pair from the run's data"></vscode-single-select></label>
    <vscode-textarea id="prompt" label="Prompt" rows="4" placeholder="A prompt for both models" resize="vertical"></vscode-textarea>
    <div class="controls">
      <!-- each field also names itself (label=): a <label> does not reach the input in its shadow DOM -->
      <label>max tokens <vscode-textfield id="maxNewTokens" label="max tokens" type="number" min="1"></vscode-textfield></label>
      <label>temperature <vscode-textfield id="temperature" label="temperature" type="number" min="0" step="0.1"></vscode-textfield></label>
      <label>top-k <vscode-textfield id="topK" label="top-k" type="number" min="0"></vscode-textfield></label>
      <label>top-p <vscode-textfield id="topP" label="top-p" type="number" min="0" max="1" step="0.05"></vscode-textfield></label>
      <label>seed <vscode-textfield id="seed" label="seed" type="number" min="0"></vscode-textfield></label>
      <label>stop <vscode-textfield id="stop" label="stop" placeholder="e.g. \\n"></vscode-textfield></label>
      <vscode-checkbox id="chat" label="Chat template"></vscode-checkbox>
    </div>
    <div class="actions">
      <vscode-button id="generate">Generate</vscode-button>
      <vscode-button id="cancel" secondary disabled>Cancel</vscode-button>
      <vscode-progress-ring id="busy" aria-label="Generating" aria-live="off" hidden></vscode-progress-ring>
    </div>
  </section>
  <section class="answers" id="answers">
    ${WHICH.map(
      (w) => `
      <div class="answer" id="answer-${w}">
        <h2><span id="title-${w}">${w === 'policy' ? 'Policy (tuned)' : 'Reference'}</span> <span class="reward" id="reward-${w}"></span></h2>
        <div class="text" id="text-${w}" role="group" aria-label="${w === 'policy' ? 'Policy' : 'Reference'} answer: tokens coloured by reward; arrow keys move, each token's read-out shows on focus"></div>
        <vscode-textarea class="editor" id="editor-${w}" label="${w === 'policy' ? 'Response A' : 'Response B'} to score" rows="4" hidden></vscode-textarea>
        <div class="muted" id="reason-${w}"></div>
        <div class="row">
          <vscode-button class="edit" id="edit-${w}" secondary>Edit / type a response</vscode-button>
          <vscode-button class="score" id="score-${w}" secondary hidden>Score</vscode-button>
        </div>
        <vscode-button class="promote" id="promote-${w}" secondary disabled>${w === 'policy' ? 'Policy answer is better' : 'Reference answer is better'}</vscode-button>
      </div>`,
    ).join('')}
  </section>
  ${LEGEND_HTML}
  <p id="score-note" class="muted score-note" hidden></p>
  <section class="summary" id="summary"></section>
  <div id="status" role="status" class="muted"></div>
  </main>
  <div id="token-tip" class="token-tip" role="tooltip" hidden></div>
`;

// vscode-textfield and vscode-textarea name their inner input from the `label` property only (the
// attribute is not read), and a <label> around them does not reach into their shadow DOM.
for (const e of app.querySelectorAll<HTMLElement & { label: string }>('vscode-textfield[label], vscode-textarea[label]')) e.label = e.getAttribute('label')!;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
type Field = HTMLElement & { value: string; checked?: boolean; disabled?: boolean };
const field = (id: string) => $<Field>(id);

function readControls(): void {
  state.prompt = field('prompt').value;
  state.chat = !!field('chat').checked;
  const n = (id: string, fallback: number) => {
    const v = Number(field(id).value);
    return Number.isFinite(v) && field(id).value !== '' ? v : fallback;
  };
  const stop = field('stop').value.replace(/\\n/g, '\n');
  state.sampling = {
    maxNewTokens: Math.max(1, n('maxNewTokens', 64)),
    temperature: Math.max(0, n('temperature', 0)),
    topK: Math.max(0, n('topK', 0)),
    topP: Math.min(1, Math.max(0, n('topP', 1))),
    seed: Math.max(0, n('seed', 0)),
    stop: stop ? [stop] : [],
  };
  save();
}

function writeControls(): void {
  field('prompt').value = state.prompt;
  field('chat').checked = state.chat;
  for (const k of ['maxNewTokens', 'temperature', 'topK', 'topP', 'seed'] as const) field(k).value = String(state.sampling[k]);
  field('stop').value = (state.sampling.stop[0] ?? '').replace(/\n/g, '\\n');
}

const DEFAULT_TITLE: Record<ProbeWhich, string> = { policy: 'Policy (tuned)', reference: 'Reference' };

function renderAnswer(w: ProbeWhich): void {
  const a = state.answers[w];
  $(`title-${w}`).textContent = a.source ?? DEFAULT_TITLE[w];
  const box = $(`text-${w}`);
  // Re-rendering would drop the focus of a token being read: keep its index and focus it again.
  const focused = box.contains(document.activeElement) ? [...box.children].indexOf(document.activeElement as Element) : -1;
  box.replaceChildren();
  box.removeAttribute('aria-busy');
  if (a.score) {
    renderTokens(box, a.score, scale);
    $(`reward-${w}`).textContent = `reward ${a.score.reward.toFixed(4)}`;
  } else if (generating && !a.text && !a.done) {
    // Before the first token: say that something is happening (the first can take seconds).
    box.setAttribute('aria-busy', 'true');
    box.append(
      el('vscode-progress-ring', { class: 'inline-ring', 'aria-hidden': 'true' }),
      el('span', { class: 'muted loading' }, 'waiting for the first token…'),
    );
    $(`reward-${w}`).textContent = '';
  } else {
    box.textContent = a.text;
    $(`reward-${w}`).textContent = '';
  }
  if (focused >= 0) (box.children[focused] as HTMLElement | undefined)?.focus();
  $(`reason-${w}`).textContent = a.done ? finishText(a.reason, a.maxTokens) + (a.score || !a.text ? '' : ' · scoring…') : a.text ? 'generating…' : '';
  // Promotion saves two generated answers, once. A pair from the data is already in a file and a
  // typed answer was no model's: "… answer is better" does not apply, so the buttons go.
  const generated = !state.answers.policy.source && !state.answers.reference.source;
  field(`promote-${w}`).hidden = !generated;
  field(`promote-${w}`).disabled = !!state.promoted || !(generated && state.answers.policy.done && state.answers.reference.done);
}

function renderSummary(): void {
  const [p, r] = [state.answers.policy.score, state.answers.reference.score];
  const box = $('summary');
  if (!p || !r) {
    box.textContent = '';
    return;
  }
  const margin = p.reward - r.reward;
  const names = `${state.answers.policy.source ?? 'policy answer'} − ${state.answers.reference.source ?? 'reference answer'}`;
  box.textContent = `margin (${names}) ${margin.toFixed(4)} · DPO preference probability σ(margin) = ${(1 / (1 + Math.exp(-margin))).toFixed(4)}`;
  const note = implausibleNote([
    { name: state.answers.policy.source ?? 'policy answer', score: p },
    { name: state.answers.reference.source ?? 'reference answer', score: r },
  ]);
  if (note) box.append(el('div', { class: 'implausible', role: 'note' }, note));
}

let scale = 0;

function render(): void {
  scale = sharedScale(WHICH.map((w) => state.answers[w].score));
  renderLegend($('legend'), scale, init?.beta ?? 0);
  for (const w of WHICH) renderAnswer(w);
  renderSummary();
  field('generate').disabled = generating || !init;
  field('cancel').disabled = !generating;
  $('busy').hidden = !generating;
}

/** The run and model names, with the full paths in a tooltip and in a disclosure (to read or copy). */
function showModels(policyDir: string, referenceDir: string, beta: number): void {
  const names = el('span', { id: 'model-names', title: `policy: ${policyDir}\nreference: ${referenceDir}` });
  names.textContent = `${modelLabel(policyDir)} vs ${modelLabel(referenceDir)} · β ${beta}`;
  const paths = el('details', { id: 'model-paths' });
  paths.append(el('summary', {}, 'full paths'), el('div', {}, 'policy: '), el('div', {}, 'reference: '));
  paths.children[1].append(el('code', { id: 'policy-path' }, policyDir));
  paths.children[2].append(el('code', { id: 'reference-path' }, referenceDir));
  $('models').replaceChildren(names, paths);
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

/** "Added the pair as line N of <file>", the file a link that opens it at that line. */
function showPromoted(file: string, line: number): void {
  const link = el('a', { href: '#', id: 'promoted-file', title: `Open ${file} at line ${line}` }, file.split(/[\\/]/).pop());
  link.addEventListener('click', (e) => {
    e.preventDefault();
    send('probe/openFile', { file, line });
  });
  $('status').replaceChildren(`Added the pair as line ${line} of `, link, '.');
}

field('generate').addEventListener('click', () => {
  readControls();
  if (!state.prompt.trim()) return setStatus('Type a prompt first.');
  const maxTokens = state.sampling.maxNewTokens;
  state.answers = { policy: { ...emptyAnswer(), maxTokens }, reference: { ...emptyAnswer(), maxTokens } };
  state.promoted = undefined;
  generating = true;
  setStatus('');
  render();
  send('probe/generate', { prompt: state.prompt, chat: state.chat, sampling: state.sampling });
});
field('cancel').addEventListener('click', () => send('probe/cancel', {}));
function scoreAnswer(w: ProbeWhich): void {
  readControls();
  send('probe/score', { which: w, prompt: state.prompt, chat: state.chat, response: state.answers[w].text });
}

for (const w of WHICH) {
  field(`edit-${w}`).addEventListener('click', () => {
    const editor = field(`editor-${w}`);
    editor.value = state.answers[w].text;
    editor.hidden = false;
    $(`text-${w}`).hidden = true;
    field(`score-${w}`).hidden = false;
    editor.focus();
  });
  field(`score-${w}`).addEventListener('click', () => {
    const editor = field(`editor-${w}`);
    state.answers[w] = { text: editor.value, done: true, source: `typed (${w === 'policy' ? 'A' : 'B'})` };
    state.promoted = undefined;
    editor.hidden = true;
    $(`text-${w}`).hidden = false;
    field(`score-${w}`).hidden = true;
    save();
    render();
    scoreAnswer(w);
  });
  field(`promote-${w}`).addEventListener('click', () => {
    send('probe/promote', { prompt: state.prompt, chosen: w, policy: state.answers.policy.text, reference: state.answers.reference.text });
  });
}
for (const id of ['prompt', 'chat', 'maxNewTokens', 'temperature', 'topK', 'topP', 'seed', 'stop']) field(id).addEventListener('change', readControls);
// A pair from the data: its prompt, and its chosen and rejected responses scored side by side.
field('data-pair').addEventListener('change', () => {
  const line = Number(field('data-pair').value);
  const pair = init?.dataPairs.find((p) => p.line === line);
  // The closed picker cuts a long prompt with an ellipsis: the whole line is its tooltip.
  field('data-pair').title = pair ? `line ${line}: ${pair.prompt}` : '';
  if (!pair) return;
  state.prompt = pair.prompt;
  state.chat = false;
  field('prompt').value = pair.prompt;
  state.answers = {
    policy: { text: pair.chosen, done: true, source: `chosen (line ${line})` },
    reference: { text: pair.rejected, done: true, source: `rejected (line ${line})` },
  };
  state.promoted = undefined;
  save();
  render();
  for (const w of WHICH) scoreAnswer(w);
});

window.addEventListener('message', (event) => {
  const parsed = parseHostToProbe(event.data);
  if (!parsed.ok) {
    console.error(`probe: dropped a bad message from the host: ${parsed.error}`);
    return;
  }
  const m = parsed.value;
  switch (m.type) {
    case 'host/didInit': {
      init = m.params;
      const select = field('data-pair');
      select.replaceChildren();
      const none = document.createElement('vscode-option');
      none.setAttribute('value', '');
      none.setAttribute('selected', ''); // shown in the closed select, which is otherwise blank
      none.textContent = m.params.dataPairs.length ? '(type a prompt, or pick a pair)' : "(no text pairs in the run's data)";
      select.append(none);
      for (const p of m.params.dataPairs) {
        const o = document.createElement('vscode-option');
        o.setAttribute('value', String(p.line));
        o.textContent = `line ${p.line}: ${p.prompt.replace(/\s+/g, ' ').slice(0, 80)}`;
        select.append(o);
      }
      showModels(m.params.policyDir, m.params.referenceDir, m.params.beta);
      if (!m.params.chatTemplate) field('chat').disabled = true;
      // Which score this is, for a run whose objective scores answers another way (SimPO, ORPO, KTO).
      $('score-note').textContent = m.params.scoreNote ?? '';
      $('score-note').hidden = !m.params.scoreNote;
      if (m.params.prompt !== undefined) {
        state.prompt = m.params.prompt;
        field('prompt').value = m.params.prompt;
        save();
      }
      break;
    }
    case 'probe/didToken': {
      const a = state.answers[m.params.which];
      a.text += m.params.text;
      break;
    }
    case 'probe/didFinish': {
      const a = state.answers[m.params.which];
      Object.assign(a, { text: m.params.text, done: true, reason: m.params.reason });
      send('probe/score', { which: m.params.which, prompt: state.prompt, chat: state.chat, response: a.text });
      generating = !(state.answers.policy.done && state.answers.reference.done);
      break;
    }
    case 'probe/didScore':
      state.answers[m.params.which].score = m.params.score;
      break;
    case 'probe/didPromote':
      state.promoted = { file: m.params.file, line: m.params.line };
      showPromoted(m.params.file, m.params.line);
      break;
    case 'host/didError':
      generating = false;
      setStatus(`Error: ${m.params.message}`);
      break;
    default:
      assertNever(m);
  }
  save();
  render();
});

writeControls();
installTokenTooltip($('answers'), $('token-tip'));
if (state.promoted) showPromoted(state.promoted.file, state.promoted.line);
render();
send('webview/ready', { protocolVersion: WEBVIEW_PROTOCOL_VERSION });
