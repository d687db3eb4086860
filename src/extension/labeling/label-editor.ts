// The labeling editor's host side: a CustomTextEditorProvider for preference JSONL. The TextDocument
// is the only model: every decision or response edit is a WorkspaceEdit of one line, so undo/redo,
// dirty state, save, revert and hot exit are VS Code's own, and a text editor open on the same file
// stays in sync both ways. The webview shows one pair and asks for lines; lines are inspected
// lazily (line-index.ts) and unusable ones are reported in the Problems panel.
import * as vscode from 'vscode';
import { webviewHtml } from '../webview-html';
import { readLabelSettings } from '../settings';
import { HostToLabel, LabelPairView, WebviewMessage, assertNever, parseLabelToHost } from '../../protocol';
import { Decision, applyDecision, blindSwap, editResponse, inspectLine } from './pair-line';
import { LineIndex, LineSplice } from './line-index';
import { ReviewQueue, acceptReviews, takeReviewQueue } from './review-queue';
import { takeLineToShow, whileOpen } from './line-to-show';
import { cliPathOf, previewModel, runTokens, showPreview } from './token-preview';
import { TextDocumentStore } from './text-document-store';
import { initParams } from './init-params';

export const LABEL_VIEW_TYPE = 'dpo.labelPairs';
const RAW_LIMIT = 4000;
/** Lines inspected per background slice: ~5 ms of JSON.parse for 1 kB lines. */
const SCAN_SLICE = 2000;
const isPairLine = (k: string) => k !== 'blank';

export { guidelinesFile } from './init-params';

/** What a change did to the lines: these lines changed, or lines moved (a splice), or anything. */
export type LinesChange = { lines: number[] } | { splice: LineSplice; lines: number[] } | { reset: true };

/** The lines the labeling editor works on: a TextDocument, or a large file read from disk. */
export interface LineStore extends vscode.Disposable {
  readonly uri: vscode.Uri;
  readonly lineCount: number;
  lineAt(i: number): string;
  /** Replaces line i, whose text is `before`, by `after` as one undoable edit. */
  replaceLine(i: number, before: string, after: string): Promise<boolean>;
  readonly onDidChange: vscode.Event<LinesChange>;
}

let openRequestedAt: number | undefined;
/** Called by DPO: Label Pairs, so that a session can report how long its first pair took. */
export function noteOpenRequested(): void {
  openRequestedAt = performance.now();
}

export class LabelEditorProvider implements vscode.CustomTextEditorProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly diagnostics: vscode.DiagnosticCollection,
  ) {}

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    openSession(new TextDocumentStore(document), panel, this.extensionUri, this.diagnostics);
  }
}

/** A labeling session on `store` in `panel`, ended (with the store) when the panel closes. */
export function openSession(store: LineStore, panel: vscode.WebviewPanel, extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection): void {
  const session = new LabelSession(store, panel, extensionUri, diagnostics);
  panel.onDidDispose(() => {
    session.dispose();
    store.dispose();
  });
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
  private queue: Promise<void> = Promise.resolve();
  /** Milliseconds from the command (or the editor's creation) to the first pair sent, and to a complete index. */
  private firstPairMs?: number;
  private indexedMs?: number;
  private readonly opened = openRequestedAt ?? performance.now();
  private readonly sessionMs = performance.now() - this.opened;
  private readyMs = 0;
  /** Set by DPO: Review Suspicious Pairs (when this editor opens, or later): the flagged lines in triage order, walked instead of the file. */
  review?: ReviewQueue;
  /** Warnings of the token previews shown, by 0-based line (Problems). */
  private readonly previewWarnings = new Map<number, vscode.Diagnostic[]>();

  constructor(
    readonly document: LineStore,
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly diagnostics: vscode.DiagnosticCollection,
  ) {
    this.index = new LineIndex(document);
    this.review = takeReviewQueue(document.uri);
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out', 'webview')] };
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'labeling', 'Label pairs');
    this.disposables.push(
      // One message at a time, in order: a decision's edit lands before the next key's is computed.
      panel.webview.onDidReceiveMessage((raw) => (this.queue = this.queue.then(() => this.onMessage(raw)))),
      document.onDidChange((e) => this.onDocumentChange(e)),
      acceptReviews(document.uri, (queue) => this.startReview(queue)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('dpo.labeling')) this.settings = { ...readLabelSettings(), blind: this.settings.blind };
      }),
      whileOpen(document.uri, (i) => this.show(this.nearestPair(i))),
    );
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.scanTimer);
    clearTimeout(this.diagnosticsTimer);
    this.diagnostics.delete(this.document.uri);
    this.review?.dispose();
    this.disposables.splice(0).forEach((d) => d.dispose());
  }

  /** A review started while this editor is open: walk its queue from its first pair, in front. */
  startReview(queue: ReviewQueue): void {
    this.review?.dispose();
    this.review = queue;
    this.panel.reveal();
    this.sendCounts();
    // Every view the webview holds is stale (neighbours in queue order, cards): it drops them and asks for the first.
    if (queue.first !== undefined && queue.first < this.document.lineCount) this.send('label/didReset', { line: queue.first + 1 });
  }

  private send<K extends keyof HostToLabel>(type: K, params: HostToLabel[K]): void {
    void this.panel.webview.postMessage({ type, params } as WebviewMessage<HostToLabel>);
  }

  /** The view of 0-based line i. */
  view(i: number): LabelPairView {
    const text = this.document.lineAt(i);
    const line = inspectLine(text);
    const queued = this.review?.neighbours(i);
    const prev = queued ? queued.prev - 1 : this.index.find(i, -1, isPairLine);
    const next = queued ? queued.next - 1 : this.index.find(i, 1, isPairLine);
    return {
      line: i + 1,
      kind: line.kind,
      problems: line.problems,
      prompt: line.prompt,
      responses: line.responses,
      review: line.review,
      annotator: line.annotator,
      labeledAt: line.labeledAt,
      // The review queue follows the blind setting too: chosen always on the left is a position bias.
      // An unpaired line has one side: nothing to swap (blind mode hides its label instead).
      swapped: !line.unpaired && this.settings.blind && blindSwap(this.settings.blindSeed, i + 1),
      unpaired: line.unpaired,
      completion: line.completion,
      raw: line.responses || line.completion ? undefined : text.slice(0, RAW_LIMIT),
      prev: prev + 1,
      next: next + 1,
      suspicion: this.review?.suspicion(i),
    };
  }

  private nearestPair(i: number): number {
    const clamped = Math.max(0, Math.min(i, this.document.lineCount - 1));
    if (this.index.kind(clamped) !== 'blank') return clamped;
    const after = this.index.find(clamped, 1, isPairLine);
    return after >= 0 ? after : Math.max(0, this.index.find(clamped, -1, isPairLine));
  }

  private show(i: number): void {
    this.send('label/didShow', { pair: this.view(i) });
    if (this.firstPairMs === undefined) {
      this.firstPairMs = performance.now() - this.opened;
      openRequestedAt = undefined;
      this.send('label/didMeasure', { firstPairMs: this.firstPairMs, sessionMs: this.sessionMs, readyMs: this.readyMs });
    }
  }

  /** Neighbours of a line: a few ahead (where keys go) and one behind. */
  private prefetch(i: number): void {
    const lines: number[] = [];
    let j = i;
    for (let n = 0; n < 4 && (j = this.index.find(j, 1, isPairLine)) >= 0; n++) lines.push(j);
    const back = this.index.find(i, -1, isPairLine);
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
          this.readyMs = performance.now() - this.opened;
          this.send('host/didInit', initParams(this.document.uri.fsPath, this.settings));
          const wanted = takeLineToShow(this.document.uri);
          if (wanted !== undefined && wanted < this.document.lineCount) this.show(this.nearestPair(wanted));
          else if (this.review?.first !== undefined && this.review.first < this.document.lineCount) this.show(this.review.first);
          else if (this.document.lineCount > 0) {
            const first = this.index.find(-1, 1, (k) => k === 'todo');
            this.show(first >= 0 ? first : this.nearestPair(0));
          }
          this.scheduleScan();
          break;
        }
        case 'label/show': {
          const from = m.params.line - 1;
          if (m.params.direction === 'at') this.show(this.nearestPair(from));
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
          await vscode.commands.executeCommand('vscode.openWith', this.document.uri, 'default', {
            selection: new vscode.Range(pos, pos),
            viewColumn: vscode.ViewColumn.Beside,
          });
          break;
        }
        case 'label/setBlind':
          this.settings.blind = m.params.blind;
          break;
        case 'label/previewTokens':
          await this.previewTokens(m.params.line);
          break;
        default:
          assertNever(m);
      }
    } catch (err) {
      this.send('host/didError', { message: (err as Error).message });
    }
  }

  /** V: the tokens of a line; its warnings also go to Problems until the line changes. */
  async previewTokens(line: number): Promise<void> {
    const dataFile = this.document.uri.fsPath;
    const model = await previewModel(dataFile, this.review?.spec.runDir);
    if (!model) return;
    const p = await runTokens(cliPathOf(this.extensionUri), dataFile, line, model);
    showPreview(p, model.modelDir);
    const text = this.document.lineAt(line - 1);
    this.previewWarnings.set(
      line - 1,
      p.warnings.map((w) => {
        const d = new vscode.Diagnostic(new vscode.Range(line - 1, 0, line - 1, text.length), `${w.code}: ${w.message}`, vscode.DiagnosticSeverity.Warning);
        d.source = 'DPO tokens';
        return d;
      }),
    );
    this.publishDiagnostics();
  }

  async decide(i: number, decision: Decision): Promise<void> {
    const before = this.document.lineAt(i);
    const after = applyDecision(before, decision, { annotator: this.settings.annotator, time: new Date().toISOString() });
    if (await this.document.replaceLine(i, before, after)) {
      this.undoStack.push({ line: i, before, after });
      if (this.review) {
        this.review.record(i, decision, before, after);
        // The edit's own counts went out before the queue recorded the decision.
        this.sendCounts();
      }
    }
  }

  /** Backspace: restores the line of the newest decision made here whose text is still what it wrote. */
  async undoLast(): Promise<void> {
    for (let last = this.undoStack.pop(); last; last = this.undoStack.pop()) {
      if (last.line < this.document.lineCount && this.document.lineAt(last.line) === last.after) {
        await this.document.replaceLine(last.line, last.after, last.before);
        this.show(last.line);
        return;
      }
    }
    void vscode.window.setStatusBarMessage('DPO: no decision to undo in this editor', 3000);
  }

  async edit(i: number, texts: (string | null)[]): Promise<void> {
    const before = this.document.lineAt(i);
    let after = before;
    texts.forEach((t, index) => {
      if (t !== null) after = editResponse(after, index as 0 | 1, t);
    });
    await this.document.replaceLine(i, before, after);
  }

  private onDocumentChange(e: LinesChange): void {
    let moved = false;
    if ('reset' in e) {
      this.index.reset();
      moved = true;
    } else if ('splice' in e) {
      this.index.splice(e.splice);
      moved = e.splice.added !== e.splice.removed;
    } else for (const l of e.lines) this.index.splice({ start: l, removed: 1, added: 1 });
    // A preview's warnings describe the line as it was.
    if ('lines' in e && !moved) for (const l of e.lines) this.previewWarnings.delete(l);
    else this.previewWarnings.clear();
    // Inspect the changed lines now, so that the counts sent below are already right; an undone
    // review decision leaves the review's count.
    if ('lines' in e)
      for (const l of e.lines)
        if (l < this.index.lineCount) {
          this.index.kind(l);
          this.review?.lineChanged(l, this.document.lineAt(l));
        }
    if (moved) this.send('label/didReset', {});
    else if ('lines' in e) this.send('label/didUpdate', { pairs: e.lines.filter((l) => l < this.document.lineCount).map((l) => this.view(l)) });
    this.sendCounts();
    this.scheduleScan();
  }

  private sendCounts(): void {
    const s = this.review?.summary();
    const review = s && this.review ? { reviewed: s.reviewed, queued: this.review.spec.lines.length } : undefined;
    this.send('label/didCounts', { counts: review ? { ...this.index.counts(), review } : this.index.counts() });
  }

  /** Inspects the lines not yet seen in slices, between messages, then (re)publishes Problems. */
  private scheduleScan(): void {
    if (this.scanTimer || this.disposed) return;
    const step = () => {
      this.scanTimer = undefined;
      if (this.disposed) return;
      const left = this.index.scan(SCAN_SLICE);
      this.sendCounts();
      if (left > 0) this.scanTimer = setTimeout(step, 0);
      else {
        if (this.indexedMs === undefined) {
          this.indexedMs = performance.now() - this.opened;
          this.send('label/didMeasure', { firstPairMs: this.firstPairMs ?? 0, indexedMs: this.indexedMs, sessionMs: this.sessionMs, readyMs: this.readyMs });
        }
        this.scheduleDiagnostics();
      }
    };
    this.scanTimer = setTimeout(step, 0);
  }

  /** Problems after a quiet moment: a run of key presses publishes once, not once per key. */
  private scheduleDiagnostics(): void {
    clearTimeout(this.diagnosticsTimer);
    this.diagnosticsTimer = setTimeout(() => this.index.complete && this.publishDiagnostics(), 300);
  }

  private publishDiagnostics(): void {
    if (this.disposed) return;
    const list: vscode.Diagnostic[] = [];
    for (const i of this.index.badLines()) {
      const text = this.document.lineAt(i);
      for (const p of inspectLine(text).problems) {
        const d = new vscode.Diagnostic(
          new vscode.Range(i, 0, i, text.length),
          `${p.field ? `${p.field}: ` : ''}${p.message}`,
          vscode.DiagnosticSeverity.Error,
        );
        d.source = 'DPO labeling';
        list.push(d);
      }
    }
    for (const ds of this.previewWarnings.values()) list.push(...ds);
    this.diagnostics.set(this.document.uri, list);
  }
}
