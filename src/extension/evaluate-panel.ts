// The Evaluate panel's host side ("DPO: Show Evaluation"): one panel over the evaluations of the
// workspace's runs (`<run>/eval/<name>/`) and any evaluation folder the user adds, refreshed when a
// summary.json appears or changes (file watchers), answering the webview's requests: a selected
// evaluation's answers, "Open in Probe" and "Add as pair" (appended to a preference JSONL picked
// once per session). It reads only evaluation folders; evaluating is evaluate-command.ts's job.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { webviewHtml } from './webview-html';
import {
  EVAL_FILES,
  EvaluateToHost,
  EvaluationView,
  HostToEvaluate,
  RUN_EVAL_DIR,
  WEBVIEW_PROTOCOL_VERSION,
  WebviewMessage,
  assertNever,
  parseEvaluateToHost,
} from '../protocol';
import { listEvaluations, pairFromVerdict, policyModelDir, readEvalPairs, summariesFingerprint } from './eval-folders';
import { listRunFolders } from './run-folders';
import { readSettings, runsRoot } from './settings';
import { appendLine } from './probe-panel';
import { COMMANDS } from './commands';

/** The two evaluation commands (registered in extension.ts, handled in evaluate-command.ts). */
export const EVAL_COMMANDS = { evaluateModel: 'dpo.evaluateModel', showEvaluation: 'dpo.showEvaluation' } as const;

const POLL_MS = 2000;

/** The preference file "Add as pair" appends to: asked for once per session (this window). */
let sessionPairsFile: string | undefined;

export interface EvaluatePanelOptions {
  /** Use this preference file for "Add as pair" without asking (tests and scripts). */
  pairsFile?: string;
  /** Evaluation folders to show besides the runs' own. */
  folders?: string[];
}

export class EvaluatePanel implements vscode.Disposable {
  static readonly viewType = 'dpo.evaluate';
  static current: EvaluatePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private folderWatchers = new Map<string, vscode.Disposable>();
  private ready = false;
  private extraFolders: string[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly pollTimer: NodeJS.Timeout;
  private fingerprint = '';
  /** What the webview was last sent (tests read it). */
  evaluations: EvaluationView[] = [];
  problems: string[] = [];
  /** For tests: the last pair appended, or the last polite refusal. */
  lastAdded?: { file: string; line: number };
  lastNotice?: string;
  private readonly listed = new vscode.EventEmitter<EvaluationView[]>();
  /** Fires each time the evaluations were read again and sent (tests wait on it). */
  readonly onDidList = this.listed.event;
  /** Resolves when the webview has said it is ready and got the first list. */
  readonly loaded: Promise<void>;
  private markLoaded!: () => void;

  static show(extensionUri: vscode.Uri, log: (l: string) => void, options: EvaluatePanelOptions = {}): EvaluatePanel {
    if (!EvaluatePanel.current) {
      const panel = vscode.window.createWebviewPanel(EvaluatePanel.viewType, 'DPO Evaluation', vscode.ViewColumn.Active, EvaluatePanel.options(extensionUri));
      EvaluatePanel.current = new EvaluatePanel(panel, extensionUri, log);
    } else EvaluatePanel.current.panel.reveal();
    const p = EvaluatePanel.current;
    if (options.pairsFile) sessionPairsFile = options.pairsFile;
    for (const f of options.folders ?? []) p.addFolder(f);
    return p;
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // No retainContextWhenHidden: the webview keeps its choices with setState and is rebuilt from the folders.
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out', 'webview')] };
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly log: (l: string) => void,
  ) {
    EvaluatePanel.current = this;
    this.loaded = new Promise((resolve) => (this.markLoaded = resolve));
    panel.webview.options = EvaluatePanel.options(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'evaluate', 'DPO Evaluation');
    // The watchers below are the quick path; this check catches what they miss (a disk another
    // machine writes, a remote file system without events) while the panel is on screen.
    this.pollTimer = setInterval(() => {
      if (this.panel.visible && summariesFingerprint(runsRoot(readSettings()), this.extraFolders) !== this.fingerprint) this.refresh();
    }, POLL_MS);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      panel.onDidDispose(() => this.dispose()),
      // Shown again: a folder written while hidden (on a shared disk the watcher may not see) appears.
      panel.onDidChangeViewState((e) => e.webviewPanel.visible && this.refresh()),
      ...this.watchRuns(),
      this.listed,
    );
  }

  /** summary.json of any run's evaluation: created (an evaluation finished), changed (re-run) or deleted. */
  private watchRuns(): vscode.Disposable[] {
    const root = runsRoot(readSettings());
    if (!root) return [];
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), `*/${RUN_EVAL_DIR}/*/${EVAL_FILES.summary}`));
    return [
      watcher,
      watcher.onDidCreate(() => this.refreshSoon()),
      watcher.onDidChange(() => this.refreshSoon()),
      watcher.onDidDelete(() => this.refreshSoon()),
    ];
  }

  addFolder(dir: string): void {
    const abs = path.resolve(dir);
    if (!this.extraFolders.includes(abs)) {
      this.extraFolders.push(abs);
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(abs), EVAL_FILES.summary));
      const subs = [w, w.onDidCreate(() => this.refreshSoon()), w.onDidChange(() => this.refreshSoon()), w.onDidDelete(() => this.refreshSoon())];
      this.folderWatchers.set(abs, { dispose: () => subs.forEach((s) => s.dispose()) });
    }
    this.refresh();
  }

  /** Several files of one evaluation land together: list once they have. */
  private refreshSoon(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 200);
  }

  /** Reads every evaluation again and sends the list. */
  refresh(): void {
    if (!this.ready) return;
    const root = runsRoot(readSettings());
    this.fingerprint = summariesFingerprint(root, this.extraFolders);
    const runDirs = listRunFolders(root).map((r) => r.dir);
    const { evaluations, problems } = listEvaluations(runDirs, this.extraFolders);
    this.evaluations = evaluations;
    this.problems = problems;
    for (const p of problems) this.log(`evaluate panel: ${p}`);
    this.post('evaluate/didList', { evaluations, problems, extraFolders: this.extraFolders });
    this.listed.fire(evaluations);
  }

  private post<K extends keyof HostToEvaluate>(type: K, params: HostToEvaluate[K]): void {
    if (!this.ready && type !== 'host/didInit') return; // nothing before the handshake
    void this.panel.webview.postMessage({ type, params });
  }

  /** The evaluation the webview names, if it is one this panel listed (the webview names, the host decides). */
  private known(dir: string): EvaluationView {
    const e = this.evaluations.find((v) => v.dir === dir);
    if (!e) throw new Error(`${dir} is not an evaluation shown in this panel`);
    return e;
  }

  private pairOf(dir: string, promptIndex: number, sample: number) {
    const { pairs } = readEvalPairs(dir, Infinity);
    const pair = pairs.find((p) => p.promptIndex === promptIndex && p.sample === sample);
    if (!pair) throw new Error(`${path.join(dir, EVAL_FILES.results)} has no answers for prompt ${promptIndex + 1}, sample ${sample + 1}`);
    return pair;
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseEvaluateToHost(raw);
    if (!parsed.ok) {
      this.log(`evaluate panel: dropped a bad message from the webview: ${parsed.error}`);
      return;
    }
    const m = parsed.value as WebviewMessage<EvaluateToHost>;
    try {
      switch (m.type) {
        case 'webview/ready':
          if (m.params.protocolVersion !== WEBVIEW_PROTOCOL_VERSION)
            throw new Error(`webview protocol ${m.params.protocolVersion}, host ${WEBVIEW_PROTOCOL_VERSION}: reload the window`);
          this.ready = true;
          this.post('host/didInit', { protocolVersion: WEBVIEW_PROTOCOL_VERSION });
          for (const f of m.params.folders) if (!this.extraFolders.includes(f)) this.extraFolders.push(f);
          this.refresh();
          this.markLoaded();
          return;
        case 'evaluate/requestPairs': {
          this.known(m.params.dir);
          const read = readEvalPairs(m.params.dir);
          for (const p of read.problems) this.log(`evaluate panel: ${p}`);
          this.post('evaluate/didPairs', { dir: m.params.dir, pairs: read.pairs, total: read.total });
          return;
        }
        case 'evaluate/openInProbe': {
          const e = this.known(m.params.dir);
          const pair = this.pairOf(e.dir, m.params.promptIndex, m.params.sample);
          await vscode.commands.executeCommand(COMMANDS.probeModel, {
            policyDir: policyModelDir(e.summary),
            referenceDir: e.summary.reference,
            prompt: pair.prompt,
          });
          return;
        }
        case 'evaluate/addPair':
          await this.addPair(m.params);
          return;
        case 'evaluate/addFolder': {
          const picked = await vscode.window.showOpenDialog({
            canSelectFolders: true,
            canSelectFiles: false,
            canSelectMany: true,
            openLabel: 'Show Evaluation',
          });
          for (const u of picked ?? []) this.addFolder(u.fsPath);
          return;
        }
        case 'evaluate/evaluate':
          await vscode.commands.executeCommand(EVAL_COMMANDS.evaluateModel);
          return;
        case 'evaluate/openFile': {
          // Only the file this session appends to: the webview names it, but does not choose it.
          if (m.params.file !== sessionPairsFile) throw new Error(`not this session's pairs file: ${m.params.file}`);
          const at = new vscode.Position(Math.max(0, m.params.line - 1), 0);
          await vscode.window.showTextDocument(vscode.Uri.file(m.params.file), { viewColumn: vscode.ViewColumn.Beside, selection: new vscode.Range(at, at) });
          return;
        }
        default:
          assertNever(m);
      }
    } catch (err) {
      this.post('host/didError', { message: (err as Error).message });
    }
  }

  /** Appends {prompt, chosen: better, rejected: worse} by the judge's verdict; a tie is refused politely. */
  async addPair(params: EvaluateToHost['evaluate/addPair']): Promise<void> {
    const e = this.known(params.dir);
    const made = pairFromVerdict(this.pairOf(e.dir, params.promptIndex, params.sample), params.judge);
    if (!made.ok) {
      this.lastNotice = made.error;
      this.post('evaluate/didNotice', { message: made.error });
      return;
    }
    const file = sessionPairsFile ?? (await pickPairsFile());
    if (!file) return;
    sessionPairsFile = file;
    const line = appendLine(file, JSON.stringify(made.value));
    this.lastAdded = { file, line };
    this.log(`evaluate: added a pair (${e.series} ${e.name}, prompt ${params.promptIndex + 1}, by ${params.judge}) as line ${line} of ${file}`);
    this.post('evaluate/didAddPair', { file, line });
  }

  dispose(): void {
    if (EvaluatePanel.current === this) EvaluatePanel.current = undefined;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    clearInterval(this.pollTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
    for (const d of this.folderWatchers.values()) d.dispose();
    this.folderWatchers.clear();
    this.panel.dispose();
  }
}

async function pickPairsFile(): Promise<string | undefined> {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
  const picked = await vscode.window.showSaveDialog({
    title: 'DPO: the preference file "Add as pair" appends to (asked once per session)',
    defaultUri: ws ? vscode.Uri.joinPath(ws, '.dpo', 'eval-pairs.jsonl') : undefined,
    filters: { 'Preference JSONL': ['jsonl'] },
    saveLabel: 'Append Pairs Here',
  });
  return picked?.fsPath;
}
