// The labeling editor's page: header with counts and modes, the pair, the action buttons (each
// key has one), and the keyboard help. Static markup only; main.ts fills it in.
export const PAGE_HTML = `
  <header>
    <div class="title"><h1 id="file"></h1> <span id="position" class="muted"></span></div>
    <div id="counts" class="counts"></div>
    <div class="header-actions">
      <vscode-button id="blind" secondary aria-pressed="false" title="Blind mode: responses in a random but reproducible order, labels hidden">Blind: off</vscode-button>
      <vscode-button id="toggle-guidelines" secondary aria-expanded="false" aria-controls="guidelines" title="Labeling guidelines">Guidelines</vscode-button>
      <vscode-button id="help-button" secondary aria-label="Keyboard shortcuts" aria-haspopup="dialog" title="Keyboard shortcuts (?)">?</vscode-button>
    </div>
    <div class="progress-row">
      <div id="progress" class="progress" role="progressbar" aria-label="Labeling progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">
        <div id="progress-fill" class="progress-fill" title="labeled: trained on"></div><div id="progress-held" class="progress-held" title="tie or skipped: left out of training"></div>
      </div>
      <span id="progress-text" class="muted">0%</span>
    </div>
  </header>
  <div class="layout">
    <main id="pair" tabindex="-1"></main>
    <aside id="guidelines" hidden></aside>
  </div>
  <footer class="actions">
    <vscode-button id="choose-left" title="1 or A">1 · Left is better</vscode-button>
    <vscode-button id="choose-right" title="2 or B">2 · Right is better</vscode-button>
    <vscode-button id="tie" secondary title="T">T · Tie</vscode-button>
    <vscode-button id="skip" secondary title="S">S · Skip</vscode-button>
    <vscode-button id="undo" secondary title="Backspace">⌫ Undo</vscode-button>
    <vscode-button id="prev" secondary title="← or K">← Prev</vscode-button>
    <vscode-button id="next" secondary title="→ or J">Next →</vscode-button>
    <vscode-button id="next-todo" secondary title="G">G · Next unlabeled</vscode-button>
    <vscode-button id="edit" secondary title="E">E · Edit</vscode-button>
    <vscode-button id="preview-tokens" secondary title="V: the tokens this pair becomes for training (masked prompt, trained response, truncation)">V · Tokens</vscode-button>
  </footer>
  <div id="status" class="muted" role="status"></div>
  <div id="notice" role="status"></div>
  <div id="help" class="overlay" hidden>
    <div id="help-dialog" class="dialog" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" tabindex="-1">
      <h2>Keyboard</h2>
      <table>
        <tr><td><kbd>1</kbd> <kbd>A</kbd></td><td>left response is better (unpaired line: 👍 desirable, label true)</td></tr>
        <tr><td><kbd>2</kbd> <kbd>B</kbd></td><td>right response is better (unpaired line: 👎 undesirable, label false)</td></tr>
        <tr><td><kbd>V</kbd></td><td>token preview: what the pair becomes for training</td></tr>
        <tr><td><kbd>T</kbd></td><td>tie (no preference; left out of training)</td></tr>
        <tr><td><kbd>S</kbd></td><td>skip (left out of training; unpaired line: next line, no label)</td></tr>
        <tr><td><kbd>Backspace</kbd></td><td>undo the last decision made here</td></tr>
        <tr><td><kbd>→</kbd> <kbd>J</kbd> / <kbd>←</kbd> <kbd>K</kbd></td><td>next / previous line</td></tr>
        <tr><td><kbd>G</kbd></td><td>next unlabeled pair</td></tr>
        <tr><td><kbd>P</kbd></td><td>next line with a problem</td></tr>
        <tr><td><kbd>E</kbd></td><td>edit the responses (<kbd>Ctrl</kbd>+<kbd>Enter</kbd> saves, <kbd>Esc</kbd> cancels)</td></tr>
        <tr><td><kbd>?</kbd></td><td>this help (<kbd>Esc</kbd> closes)</td></tr>
      </table>
      <p class="muted">Ctrl+Z / Ctrl+Y undo and redo any edit, Ctrl+S saves: the file is an ordinary text document.</p>
      <vscode-button id="help-close">Close</vscode-button>
    </div>
  </div>`;
