// The probe panel's host side: one engine process with the tuned model and its reference loaded,
// a webview (strict CSP with a nonce, only this extension's files), and the messages between them,
// checked on arrival. Promoted pairs are appended to a preference JSONL file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { webviewHtml } from './webview-html';
import { EngineName, HostToProbe, ProbeWhich, WEBVIEW_PROTOCOL_VERSION, WebviewMessage, assertNever, parseProbeToHost } from '../protocol';
import { EngineClient, isEvent } from './engine-client';
import { engineLabel } from '../node/engine-choice';

export interface ProbeTarget {
  policyDir: string;
  referenceDir: string;
  beta: number;
  promoteFile: string;
  /** The run's preference file, whose prompts and pairs the panel offers. */
  dataFile?: string;
  /** The engine the run used (its config.json), which probes it too; the embedded one otherwise. */
  engine?: EngineName;
  /** A prompt to start with (the Evaluate panel's "Open in Probe"). */
  prompt?: string;
  /** What the score means for the run's objective, when it is not the objective's own score. */
  scoreNote?: string;
}

const MAX_DATA_PAIRS = 200;

/** Text pairs of a preference JSONL file (conversational lines are left out), for the picker. */
export function readDataPairs(file: string | undefined): HostToProbe['host/didInit']['dataPairs'] {
  if (!file || !fs.existsSync(file)) return [];
  const out: HostToProbe['host/didInit']['dataPairs'] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length && out.length < MAX_DATA_PAIRS; i++) {
    try {
      const o = JSON.parse(lines[i]) as Record<string, unknown>;
      if (typeof o.prompt === 'string' && typeof o.chosen === 'string' && typeof o.rejected === 'string')
        out.push({ line: i + 1, prompt: o.prompt, chosen: o.chosen, rejected: o.rejected });
    } catch {
      // blank or bad lines are not offered
    }
  }
  return out;
}

export class ProbePanel implements vscode.Disposable {
  static readonly viewType = 'dpo.probe';
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private loaded: Promise<{ chatTemplate: boolean }>;
  /** For tests and the output channel: what was last appended to the promote file. */
  lastPromoted?: { file: string; line: number };
  /** "torch · cpu" or "tfjs · wasm" once both models are loaded: the engine that serves this panel. */
  readonly loadedOn: Promise<string>;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly target: ProbeTarget,
    private readonly engine: EngineClient,
    private readonly log: (line: string) => void,
  ) {
    this.panel = vscode.window.createWebviewPanel(
      ProbePanel.viewType,
      `Probe: ${path.basename(path.dirname(target.policyDir))}/${path.basename(target.policyDir)}`,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        // The panel holds streamed answers and scores that are not cheap to recompute.
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out', 'webview')],
      },
    );
    this.panel.webview.html = this.html();
    this.loaded = engine.ready.then(() => engine.request('probe/load', { policyDir: target.policyDir, referenceDir: target.referenceDir }));
    this.loaded.catch((err: Error) => this.post('host/didError', { message: `could not load the models: ${err.message}` }));
    this.loadedOn = this.loaded.then(() => engine.ready).then(engineLabel);
    this.loadedOn.catch(() => undefined); // reported above
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)),
      this.panel.onDidDispose(() => this.dispose()),
      engine.onEvent((e) => {
        if (isEvent(e, 'probe/didToken')) this.post('probe/didToken', { which: e.params.which, text: e.params.text });
      }),
    );
  }

  get webviewPanel(): vscode.WebviewPanel {
    return this.panel;
  }

  private post<K extends keyof HostToProbe>(type: K, params: HostToProbe[K]): void {
    if (!this.ready && type !== 'host/didInit') return; // nothing before the handshake
    void this.panel.webview.postMessage({ type, params });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseProbeToHost(raw);
    if (!parsed.ok) {
      this.log(`probe panel: dropped a bad message from the webview: ${parsed.error}`);
      return;
    }
    const m = parsed.value as WebviewMessage<import('../protocol').ProbeToHost>;
    try {
      switch (m.type) {
        case 'webview/ready': {
          if (m.params.protocolVersion !== WEBVIEW_PROTOCOL_VERSION)
            throw new Error(`webview protocol ${m.params.protocolVersion}, host ${WEBVIEW_PROTOCOL_VERSION}: reload the window`);
          this.ready = true;
          const info = await this.loaded;
          this.post('host/didInit', {
            protocolVersion: WEBVIEW_PROTOCOL_VERSION,
            policyDir: this.target.policyDir,
            referenceDir: this.target.referenceDir,
            beta: this.target.beta,
            chatTemplate: info.chatTemplate,
            promoteFile: this.target.promoteFile,
            dataPairs: readDataPairs(this.target.dataFile),
            prompt: this.target.prompt,
            scoreNote: this.target.scoreNote,
          });
          return;
        }
        case 'probe/generate': {
          await this.loaded;
          const { prompt, chat, sampling } = m.params;
          const run = async (which: ProbeWhich) => {
            const r = await this.engine.request('probe/generate', { which, prompt, chat, sampling });
            this.post('probe/didFinish', { which, text: r.text, reason: r.reason });
          };
          await Promise.all([run('policy'), run('reference')]);
          return;
        }
        case 'probe/cancel':
          await this.engine.request('probe/cancel', {});
          return;
        case 'probe/score': {
          await this.loaded;
          const score = await this.engine.request('probe/score', {
            prompt: m.params.prompt,
            chat: m.params.chat,
            response: m.params.response,
            beta: this.target.beta,
          });
          this.post('probe/didScore', { which: m.params.which, score });
          return;
        }
        case 'probe/promote': {
          const { prompt, chosen, policy, reference } = m.params;
          const pair = chosen === 'policy' ? { prompt, chosen: policy, rejected: reference } : { prompt, chosen: reference, rejected: policy };
          const line = appendLine(this.target.promoteFile, JSON.stringify(pair));
          this.lastPromoted = { file: this.target.promoteFile, line };
          this.log(`probe: added a pair as line ${line} of ${this.target.promoteFile}`);
          this.post('probe/didPromote', { file: this.target.promoteFile, line });
          return;
        }
        case 'probe/openFile': {
          // Only the file this panel appends to: the webview names it, but does not choose it.
          if (m.params.file !== this.target.promoteFile) throw new Error(`not the promote file: ${m.params.file}`);
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

  private html(): string {
    return webviewHtml(this.panel.webview, this.extensionUri, 'probe', 'DPO Probe');
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.engine.dispose();
    this.panel.dispose();
  }
}

/** Appends one JSONL line (adding a newline first if the file does not end with one); returns its 1-based number. */
export function appendLine(file: string, line: string): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const prefix = existing.length > 0 && !existing.endsWith('\n') ? '\n' : '';
  fs.appendFileSync(file, prefix + line + '\n');
  return (existing + prefix).split('\n').filter((_, i, a) => i < a.length - 1 || a[i] !== '').length + 1;
}
