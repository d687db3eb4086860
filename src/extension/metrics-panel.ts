// The metrics panel's host side: one panel that overlays any number of runs. It reads each run's
// metrics.jsonl (so finished and crashed runs open too), follows the file while a run writes it
// (woken at once by the run manager for runs it started, and polled for runs started elsewhere),
// and answers the webview's requests for pairs, CSV and PNG export, and opening a pair's line (in
// the labeling editor, metrics-open-line.ts). metrics-autoopen.ts opens it when a run starts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { webviewHtml } from './webview-html';
import {
  HostToMetrics,
  MetricsRecord,
  MetricsRun,
  MetricsToHost,
  PanelRunStatus,
  RunRecord,
  StatusRecord,
  WEBVIEW_PROTOCOL_VERSION,
  WebviewMessage,
  assertNever,
  parseLines,
  parseMetricsToHost,
  parseRunRecord,
  toRecordLine,
} from '../protocol';
import { completeCheckpoints, readPairs, runFile } from '../node/run-folder';
import { readPairTexts } from '../node/pair-texts';
import { evaluationRecord, readRunEvaluations } from '../node/eval/run-evals';
import { COMMANDS } from './commands';
import { RunManager } from './run-manager';
import { elsewhereProgress, elsewhereStatus } from './metrics-elsewhere';
import { dataFileOf, metricsCsv, readMetrics, readRunFolder, runDetail } from './run-folders';
import { openPairInLabelEditor } from './metrics-open-line';

interface Followed {
  offset: number;
  rest: string;
  lastStatus?: StatusRecord;
  finished: boolean;
  /** The status last posted and whether the run was resumable then (checked again when the status changes). */
  posted?: { status: PanelRunStatus; resumable: boolean };
  /** The run's evaluations (eval/<name>/summary.json) posted, with their summary's mtime. */
  evals: Map<string, number>;
  /** A train record was read (the run is past its start). */
  trained?: boolean;
  /** A run written elsewhere: its status and progress as last posted, to post again only on a change. */
  shownElsewhere?: string;
}

/** States after which a run with a complete checkpoint can go on (Show Runs offers Resume for the same). */
const ENDED: readonly PanelRunStatus[] = ['stopped', 'failed', 'killed', 'ended'];

const POLL_MS = 1000;

export class MetricsPanel implements vscode.Disposable {
  static readonly viewType = 'dpo.metrics';
  static current: MetricsPanel | undefined;
  private readonly followed = new Map<string, Followed>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private pendingRuns: string[] = [];
  private readonly timer: NodeJS.Timeout;

  /** Shows the panel (creating it once) with these runs added. */
  static show(extensionUri: vscode.Uri, runs: RunManager, runDirs: string[], log: (l: string) => void, opts: { preserveFocus?: boolean } = {}): MetricsPanel {
    if (!MetricsPanel.current) {
      const column = { viewColumn: vscode.ViewColumn.Active, preserveFocus: opts.preserveFocus ?? false };
      const panel = vscode.window.createWebviewPanel(MetricsPanel.viewType, 'DPO Metrics', column, MetricsPanel.options(extensionUri));
      MetricsPanel.current = new MetricsPanel(panel, extensionUri, runs, log);
    } else MetricsPanel.current.panel.reveal(undefined, opts.preserveFocus);
    for (const d of runDirs) MetricsPanel.current.addRun(d);
    return MetricsPanel.current;
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // No retainContextWhenHidden: the webview keeps its state with setState and is rebuilt from
    // the run folders, which are the source of truth anyway.
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out', 'webview')] };
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly runs: RunManager,
    private readonly log: (l: string) => void,
  ) {
    MetricsPanel.current = this;
    panel.webview.options = MetricsPanel.options(extensionUri);
    panel.webview.html = this.html();
    this.timer = setInterval(() => this.pollAll(), POLL_MS);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      panel.onDidDispose(() => this.dispose()),
      // Warnings arrive as records in metrics.jsonl, written before the engine reports them.
      runs.onDidChange((s) => this.followed.has(s.runDir) && this.poll(s.runDir)),
    );
  }

  /** Runs shown (or to be shown once the webview is ready), in the order added. */
  get runDirs(): string[] {
    return [...new Set([...this.followed.keys(), ...this.pendingRuns])];
  }

  addRun(runDir: string): void {
    if (!this.ready) {
      if (!this.pendingRuns.includes(runDir)) this.pendingRuns.push(runDir);
      return;
    }
    if (this.followed.has(runDir)) return;
    this.load(runDir);
  }

  private load(runDir: string): void {
    const info = readRunFolder(runDir);
    const session = this.session(runDir);
    // A run this window just started may not have written config.json yet (a torch engine spends
    // its first tens of seconds importing torch): it is shown at once, from the session.
    if (!info && !session?.isActive) {
      this.post('host/didError', { message: `${runDir} is not a run folder (no config.json)` });
      return;
    }
    const file = runFile(runDir, 'metrics');
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const f: Followed = { offset: Buffer.byteLength(text), rest: '', finished: info?.finished ?? false, evals: new Map() };
    const records = [...this.take(f, text), ...(this.newEvaluations(runDir, f) ?? [])];
    this.followed.set(runDir, f);
    const run0Status = this.statusOf(runDir, f);
    const shown = this.startingAndProgress(runDir, f, run0Status);
    const run: MetricsRun = {
      runDir,
      name: path.basename(runDir),
      mode: info?.mode ?? session!.mode,
      status: run0Status,
      records: records.map(toRecordLine),
      totalSteps: session?.totalSteps || f.lastStatus?.total_steps || undefined,
      backend: session?.engineLabel ?? (f.lastStatus ? `${f.lastStatus.engine} · ${f.lastStatus.device}` : undefined),
      resumable: this.resumable(runDir, f, run0Status),
      ...shown,
      detail: info ? runDetail(info.config) : session?.config ? runDetail(session.config) : undefined,
      lossType: (info?.config ?? session?.config)?.mode === 'dpo' ? (info?.config ?? session?.config)?.loss_type : undefined,
    };
    this.post('metrics/didLoadRun', { run });
  }

  /** The complete records in `text` (after what was left over last time); bad lines are logged. */
  private take(f: Followed, text: string): RunRecord[] {
    const parsed = parseLines(f.rest + text, parseRunRecord);
    f.rest = parsed.rest;
    for (const p of parsed.problems) this.log(`metrics panel: skipped a metrics.jsonl line: ${p.error}`);
    for (const r of parsed.records) {
      if (r.kind === 'status') f.lastStatus = r;
      if (r.kind === 'metrics' && r.split === 'train') f.trained = true;
    }
    return parsed.records;
  }

  /**
   * Evaluations of the run's checkpoints not posted yet, as eval records; undefined when one posted
   * before was rewritten (a re-run), which needs the run loaded again.
   */
  private newEvaluations(runDir: string, f: Followed): MetricsRecord[] | undefined {
    const out: MetricsRecord[] = [];
    for (const e of readRunEvaluations(runDir)) {
      const seen = f.evals.get(e.name);
      if (seen === e.mtimeMs) continue;
      if (seen !== undefined) return undefined;
      f.evals.set(e.name, e.mtimeMs);
      const r = evaluationRecord(e);
      if (r) out.push(r);
    }
    return out;
  }

  /** This window's session if it runs the folder, else what the folder's last status record says. */
  private statusOf(runDir: string, f: Followed): PanelRunStatus {
    const session = this.session(runDir);
    if (session) return session.status;
    return elsewhereStatus(runDir, f.lastStatus, f.finished);
  }

  /** The run line's starting words and the phase line: this window's session's, else the folder's progress.json. */
  private startingAndProgress(runDir: string, f: Followed, status: PanelRunStatus): Pick<MetricsRun, 'starting' | 'progress'> {
    const session = this.session(runDir);
    if (session) return { starting: session.startingText, progress: session.progressNow };
    const shown = elsewhereProgress(runDir, status, f.trained ?? false);
    f.shownElsewhere = JSON.stringify([status, shown]);
    return shown;
  }

  /** Whether Resume can continue the run: it ended without its final model and has a complete checkpoint. */
  private resumable(runDir: string, f: Followed, status: PanelRunStatus): boolean {
    if (f.posted?.status === status) return f.posted.resumable;
    const resumable = ENDED.includes(status) && !f.finished && completeCheckpoints(runDir).length > 0;
    f.posted = { status, resumable };
    return resumable;
  }

  private session(runDir: string) {
    return this.runs
      .all()
      .filter((s) => s.runDir === runDir)
      .pop();
  }

  private pollAll(): void {
    for (const d of this.followed.keys()) this.poll(d);
  }

  /** Posts the metrics lines written since the last read. */
  private poll(runDir: string, force = false): void {
    const f = this.followed.get(runDir);
    if (!f || !this.ready) return;
    const file = runFile(runDir, 'metrics');
    const session = this.session(runDir);
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch {
      // No metrics.jsonl yet (a run starting, or failed while starting): this window's session, or
      // the folder's lock and progress.json, still say how it stands.
    }
    const evaluations = this.newEvaluations(runDir, f);
    if (size < f.offset || !evaluations) {
      // Rewritten shorter (a resumed run drops the lines after its checkpoint), or an evaluation run again: load it again.
      this.followed.delete(runDir);
      this.load(runDir);
      return;
    }
    let status = this.statusOf(runDir, f);
    const before = f.shownElsewhere;
    let shown = this.startingAndProgress(runDir, f, status);
    if (size === f.offset && !session && !force && evaluations.length === 0 && f.shownElsewhere === before) return;
    const records: RunRecord[] = [...evaluations];
    if (size > f.offset) {
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(size - f.offset);
      fs.readSync(fd, buf, 0, buf.length, f.offset);
      fs.closeSync(fd);
      f.offset = size;
      records.push(...this.take(f, buf.toString('utf8')));
      // The new lines may end the run (a status record) or its start (a first train record).
      status = this.statusOf(runDir, f);
      shown = this.startingAndProgress(runDir, f, status);
    }
    const eta = session?.etaSeconds();
    this.post('metrics/didAppend', {
      runDir,
      records: records.map(toRecordLine),
      status,
      resumable: this.resumable(runDir, f, status),
      totalSteps: session?.totalSteps || f.lastStatus?.total_steps || undefined,
      ...(eta !== undefined && Number.isFinite(eta) ? { etaSeconds: eta } : {}),
      ...shown,
    });
  }

  private post<K extends keyof HostToMetrics>(type: K, params: HostToMetrics[K]): void {
    if (!this.ready && type !== 'host/didInit') return;
    void this.panel.webview.postMessage({ type, params });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseMetricsToHost(raw);
    if (!parsed.ok) {
      this.log(`metrics panel: dropped a bad message from the webview: ${parsed.error}`);
      return;
    }
    const m = parsed.value as WebviewMessage<MetricsToHost>;
    try {
      switch (m.type) {
        case 'webview/ready': {
          if (m.params.protocolVersion !== WEBVIEW_PROTOCOL_VERSION) throw new Error('the panel is from another version of the extension: close and reopen it');
          this.ready = true;
          this.followed.clear();
          this.post('host/didInit', { protocolVersion: WEBVIEW_PROTOCOL_VERSION });
          // The webview's saved runs (after a reload) first, then any added before it was ready.
          for (const d of [...m.params.runDirs, ...this.pendingRuns])
            if (!this.followed.has(d) && (fs.existsSync(d) || this.session(d)?.isActive)) this.load(d);
          this.pendingRuns = [];
          return;
        }
        case 'metrics/requestPairs': {
          const pairs = readPairs(m.params.runDir, m.params.step, m.params.split);
          const file = dataFileOf(m.params.runDir, m.params.split);
          const texts = file
            ? await readPairTexts(
                file,
                pairs.map((p) => p.line),
              )
            : [];
          this.post('metrics/didPairs', { ...m.params, pairs, texts });
          return;
        }
        case 'metrics/openLine': {
          const file = dataFileOf(m.params.runDir, m.params.split);
          if (!file || !fs.existsSync(file)) throw new Error(`the run's data file ${file ?? '(unknown)'} is not there any more`);
          await openPairInLabelEditor(file, m.params.line, m.params.panelWidth);
          return;
        }
        case 'metrics/exportCsv': {
          const target = await vscode.window.showSaveDialog({
            defaultUri: this.defaultUri('metrics.csv'),
            filters: { CSV: ['csv'] },
            title: 'Export metrics as CSV',
          });
          if (!target) return;
          fs.writeFileSync(target.fsPath, metricsCsv(m.params.runDirs.map((d) => ({ name: path.basename(d), records: readMetrics(d) }))));
          this.post('metrics/didSave', { file: target.fsPath });
          return;
        }
        case 'metrics/savePng': {
          const target = await vscode.window.showSaveDialog({
            defaultUri: this.defaultUri(`${m.params.name}.png`),
            filters: { PNG: ['png'] },
            title: 'Save chart as PNG',
          });
          if (!target) return;
          fs.writeFileSync(target.fsPath, Buffer.from(m.params.dataUrl.slice('data:image/png;base64,'.length), 'base64'));
          this.post('metrics/didSave', { file: target.fsPath });
          return;
        }
        case 'metrics/addRun': {
          // Any folder: a run started elsewhere (a terminal, a cluster job on a shared disk) opens too.
          const picked = await vscode.window.showOpenDialog({
            canSelectFolders: true,
            canSelectFiles: false,
            canSelectMany: true,
            openLabel: 'Open Run Folder',
            title: 'DPO: Open Run Folder',
            defaultUri: this.defaultUri('.dpo'),
          });
          for (const u of picked ?? []) this.addRun(u.fsPath);
          return;
        }
        case 'metrics/removeRun':
          this.followed.delete(m.params.runDir);
          return;
        case 'metrics/resume':
          // The command says what went wrong (Restricted Mode, a missing engine); the panel follows the new session.
          await vscode.commands.executeCommand(COMMANDS.resumeRun, m.params.runDir);
          this.poll(m.params.runDir, true);
          return;
        case 'metrics/newRun':
          await vscode.commands.executeCommand(COMMANDS.newTrainingRun);
          return;
        default:
          assertNever(m);
      }
    } catch (err) {
      this.post('host/didError', { message: (err as Error).message });
    }
  }

  private defaultUri(name: string): vscode.Uri | undefined {
    const ws = vscode.workspace.workspaceFolders?.[0];
    return ws ? vscode.Uri.joinPath(ws.uri, name) : undefined;
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.extensionUri, 'metrics', 'DPO Metrics', { dataImages: true });
  }

  dispose(): void {
    clearInterval(this.timer);
    if (MetricsPanel.current === this) MetricsPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
