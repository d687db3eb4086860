// The labeling editor's host side: a CustomTextEditorProvider for preference JSONL. The TextDocument
// is the only model: every decision or response edit is a WorkspaceEdit of one line, so undo/redo,
// dirty state, save, revert and hot exit are VS Code's own, and a text editor open on the same file
// stays in sync both ways. The webview shows one pair and asks for lines; lines are inspected
// lazily (line-index.ts) and unusable ones are reported in the Problems panel.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { webviewHtml } from '../webview-html';
import { HostToLabel, LabelPairView, WEBVIEW_PROTOCOL_VERSION, WebviewMessage, parseLabelToHost } from '../../protocol';
import { Decision, applyDecision, blindSwap, editResponse, inspectLine } from './pair-line';
import { LineIndex } from './line-index';

export const LABEL_VIEW_TYPE = 'dpo.labelPairs';
const RAW_LIMIT = 4000;
/** Lines inspected per background slice: ~5 ms of JSON.parse for 1 kB lines. */
const SCAN_SLICE = 2000;

export interface LabelSettings {
  annotator: string;
  blind: boolean;
  blindSeed: number;
}

export function readLabelSettings(): LabelSettings {
  const c = vscode.workspace.getConfiguration('dpo.labeling');
  return {
    annotator: c.get<string>('annotator', '') || os.userInfo().username,
    blind: c.get<boolean>('blind', false),
    blindSeed: c.get<number>('blindSeed', 0),
  };
}

/** `data.guidelines.md` or `data.jsonl.guidelines.md` beside `data.jsonl`. */
export function guidelinesFile(dataFile: string): string {
  const base = dataFile.replace(/\.jsonl$/i, '');
  const candidates = [`${base}.guidelines.md`, `${dataFile}.guidelines.md`];
  return candidates.find((f) => fs.existsSync(f)) ?? candidates[0];
}

/** Live sessions, for tests and commands. */
export const labelSessions = new Set<LabelSession>();

export class LabelEditorProvider implements vscode.CustomTextEditorProvider {
  constructor(private readonly extensionUri: vscode.Uri, private readonly diagnostics: vscode.DiagnosticCollection) {}

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    const session = new LabelSession(document, panel, this.extensionUri, this.diagnostics);
    labelSessions.add(session);
    panel.onDidDispose(() => {
      labelSessions.delete(session);
      session.dispose();
    });
  }
}

export class LabelSession implements vscode.Disposable {
  readonly index: LineIndex;
  private readonly disposables: vscode.Disposable[] = [];
  private settings = readLabelSettings();
  /** Decisions made here, newest last, for Backspace: the line and its text before and after. */
  private readonly undoStack: { line: number; before: string; after: string }[] = [];
  private scanTimer?: NodeJS.Timeout;
  private diagnosticsTimer?: NodeJS.Timeout;
  private disposed = false;
  /** When the webview asked for its first pair and when it got it (for the large-file figures). */
  firstPairMs?: number;
  private readonly opened = performance.now();

  constructor(
    readonly document: vscode.TextDocument,
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly diagnostics: vscode.DiagnosticCollection,
  ) {
    this.index = new LineIndex({ get lineCount() { return document.lineCount; }, lineAt: (i) => document.lineAt(i).text });
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out', 'webview')] };
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'labeling', 'Label pairs');
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      vscode.workspace.onDidChangeTextDocument((e) => e.document === document && this.onDocumentChange(e)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('dpo.labeling')) this.settings = { ...readLabelSettings(), blind: this.settings.blind };
      }),
    );
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.scanTimer);
    clearTimeout(this.diagnosticsTimer);
    this.diagnostics.delete(this.document.uri);
    this.disposables.splice(0).forEach((d) => d.dispose());
  }

  private post(message: WebviewMessage<HostToLabel>): void {
    void this.panel.webview.postMessage(message);
  }

  private send<K extends keyof HostToLabel>(type: K, params: HostToLabel[K]): void {
    this.post({ type, params } as WebviewMessage<HostToLabel>);
  }

  /** The view of 0-based line i. */
  view(i: number): LabelPairView {
    const text = this.document.lineAt(i).text;
    const line = inspectLine(text);
    const nonBlank = (k: string) => k !== 'blank';
    const prev = this.index.find(i, -1, nonBlank);
    const next = this.index.find(i, 1, nonBlank);
    return {
      line: i + 1,
      kind: line.kind,
      problems: line.problems,
      prompt: line.prompt,
      responses: line.responses,
      review: line.review,
      annotator: line.annotator,
      labeledAt: line.labeledAt,
      swapped: this.settings.blind && blindSwap(this.settings.blindSeed, i + 1),
      raw: line.responses ? undefined : text.slice(0, RAW_LIMIT),
      prev: prev + 1,
      next: next + 1,
    };
  }

  private nearestPair(i: number): number {
    const clamped = Math.max(0, Math.min(i, this.document.lineCount - 1));
    if (this.index.kind(clamped) !== 'blank') return clamped;
    const after = this.index.find(clamped, 1, (k) => k !== 'blank');
    return after >= 0 ? after : Math.max(0, this.index.find(clamped, -1, (k) => k !== 'blank'));
  }

  private show(i: number): void {
    this.send('label/didShow', { pair: this.view(i) });
    this.firstPairMs ??= performance.now() - this.opened;
  }

  /** Neighbours of a line: a few ahead (where keys go) and one behind. */
  private prefetch(i: number): void {
    const lines: number[] = [];
    let j = i;
    for (let n = 0; n < 4 && (j = this.index.find(j, 1, (k) => k !== 'blank')) >= 0; n++) lines.push(j);
    const back = this.index.find(i, -1, (k) => k !== 'blank');
    if (back >= 0) lines.push(back);
    if (lines.length) this.send('label/didUpdate', { pairs: lines.map((l) => this.view(l)) });
  }

  private wrapFind(from: number, kind: string): number {
    const after = this.index.find(from, 1, (k) => k === kind);
    return after >= 0 ? after : this.index.find(-1, 1, (k) => k === kind);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseLabelToHost(raw);
    if (!parsed.ok) {
      this.send('host/didError', { message: `dropped a malformed message from the labeling view: ${parsed.error}` });
      return;
    }
    const m = parsed.value;
    try {
      switch (m.type) {
        case 'webview/ready': {
          const file = this.document.uri.fsPath;
          const guide = guidelinesFile(file);
          this.send('host/didInit', {
            protocolVersion: WEBVIEW_PROTOCOL_VERSION, file: path.basename(file), guidelinesFile: path.basename(guide),
            guidelines: fs.existsSync(guide) ? fs.readFileSync(guide, 'utf8') : null, blind: this.settings.blind, annotator: this.settings.annotator,
          });
          if (this.document.lineCount > 0) {
            const first = this.index.find(-1, 1, (k) => k === 'todo');
            this.show(first >= 0 ? first : this.nearestPair(0));
          }
          this.scheduleScan();
          break;
        }
        case 'label/show': {
          const from = m.params.line - 1;
          if (m.params.direction === 'at') this.show(this.nearestPair(from));
          else if (m.params.direction === 'first') this.show(this.nearestPair(0));
          else {
            const found = this.wrapFind(from, m.params.direction);
            if (found >= 0) this.show(found);
            else void vscode.window.setStatusBarMessage(m.params.direction === 'todo' ? 'DPO: every pair is labeled' : 'DPO: no problem lines', 3000);
          }
          break;
        }
        case 'label/prefetch':
          this.prefetch(Math.min(m.params.line - 1, this.document.lineCount - 1));
          break;
        case 'label/decide':
          await this.decide(m.params.line - 1, m.params.decision);
          break;
        case 'label/undo':
          await this.undoLast();
          break;
        case 'label/edit':
          await this.edit(m.params.line - 1, m.params.texts);
          break;
        case 'label/openText': {
          const pos = new vscode.Position(Math.max(0, m.params.line - 1), 0);
          await vscode.commands.executeCommand('vscode.openWith', this.document.uri, 'default', { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.Beside });
          break;
        }
        case 'label/setBlind':
          this.settings.blind = m.params.blind;
          break;
      }
    } catch (err) {
      this.send('host/didError', { message: (err as Error).message });
    }
  }

  private async replaceLine(i: number, before: string, after: string): Promise<boolean> {
    if (before === after) return true;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(this.document.uri, this.document.lineAt(i).range, after);
    return vscode.workspace.applyEdit(edit);
  }

  async decide(i: number, decision: Decision): Promise<void> {
    const before = this.document.lineAt(i).text;
    const after = applyDecision(before, decision, { annotator: this.settings.annotator, time: new Date().toISOString() });
    if (await this.replaceLine(i, before, after)) this.undoStack.push({ line: i, before, after });
  }

  /** Backspace: restores the line of the newest decision made here whose text is still what it wrote. */
  async undoLast(): Promise<void> {
    for (let last = this.undoStack.pop(); last; last = this.undoStack.pop()) {
      if (last.line < this.document.lineCount && this.document.lineAt(last.line).text === last.after) {
        await this.replaceLine(last.line, last.after, last.before);
        this.show(last.line);
        return;
      }
    }
    void vscode.window.setStatusBarMessage('DPO: no decision to undo in this editor', 3000);
  }

  async edit(i: number, texts: (string | null)[]): Promise<void> {
    const before = this.document.lineAt(i).text;
    let after = before;
    texts.forEach((t, index) => {
      if (t !== null) after = editResponse(after, index as 0 | 1, t);
    });
    await this.replaceLine(i, before, after);
  }

  private onDocumentChange(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    let moved = false;
    const changed: number[] = [];
    if (e.contentChanges.length === 1) {
      const c = e.contentChanges[0];
      const added = c.text.split('\n').length;
      const removed = c.range.end.line - c.range.start.line + 1;
      this.index.splice({ start: c.range.start.line, removed, added });
      moved = added !== removed;
      for (let l = c.range.start.line; l < c.range.start.line + added; l++) changed.push(l);
    } else {
      this.index.reset();
      moved = true;
    }
    if (moved) this.send('label/didReset', {});
    else this.send('label/didUpdate', { pairs: changed.filter((l) => l < this.document.lineCount).map((l) => this.view(l)) });
    this.sendCounts();
    this.scheduleScan();
    this.scheduleDiagnostics();
  }

  private sendCounts(): void {
    this.send('label/didCounts', { counts: this.index.counts() });
  }

  /** Inspects the rest of the file in slices, between messages, then publishes Problems. */
  private scheduleScan(): void {
    if (this.scanTimer || this.disposed) return;
    const step = () => {
      this.scanTimer = undefined;
      if (this.disposed) return;
      const left = this.index.scan(SCAN_SLICE);
      this.sendCounts();
      if (left > 0) this.scanTimer = setTimeout(step, 0);
      else this.publishDiagnostics();
    };
    this.scanTimer = setTimeout(step, 0);
  }

  private scheduleDiagnostics(): void {
    clearTimeout(this.diagnosticsTimer);
    this.diagnosticsTimer = setTimeout(() => this.index.complete && this.publishDiagnostics(), 300);
  }

  publishDiagnostics(): void {
    if (this.disposed) return;
    const list: vscode.Diagnostic[] = [];
    for (const i of this.index.badLines()) {
      const line = this.document.lineAt(i);
      for (const p of inspectLine(line.text).problems) {
        const d = new vscode.Diagnostic(line.range, `${p.field ? `${p.field}: ` : ''}${p.message}`, vscode.DiagnosticSeverity.Error);
        d.source = 'DPO labeling';
        list.push(d);
      }
    }
    this.diagnostics.set(this.document.uri, list);
  }
}
