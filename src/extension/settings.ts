// The dpo.* settings, read in one place. Their defaults and descriptions live in package.json.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BackendName, isBackendName, timeStamp } from '../protocol';
import { ENGINE_SETTINGS, EngineSetting } from '../node/engine-choice';

export interface DpoSettings {
  backend: BackendName | null;
  /** dpo.threads: wasm threads for the embedded engine; 0 = every core. */
  threads: number;
  beta: number;
  runsFolder: string;
  nodePath: string;
  stopTimeoutSeconds: number;
  engine: EngineSetting;
  /** Base interpreter for setting up the PyTorch engine; empty: the Python extension's, else python3. */
  pythonPath: string;
  /** dpo.metrics.openOnRunStart: the metrics panel opens by itself on a run that starts. */
  openMetricsOnRunStart: boolean;
}

export function readSettings(): DpoSettings {
  const c = vscode.workspace.getConfiguration('dpo');
  const backend = c.get<string>('backend', 'auto');
  const engine = c.get<string>('engine', 'auto');
  return {
    backend: isBackendName(backend) ? backend : null,
    threads: Math.max(0, Math.floor(c.get<number>('threads', 0)) || 0),
    beta: c.get<number>('beta', 0.1),
    runsFolder: c.get<string>('runsFolder', '.dpo/runs'),
    nodePath: c.get<string>('node.path', ''),
    stopTimeoutSeconds: c.get<number>('stopTimeoutSeconds', 120),
    engine: (ENGINE_SETTINGS as readonly string[]).includes(engine) ? (engine as EngineSetting) : 'auto',
    pythonPath: c.get<string>('python.path', ''),
    openMetricsOnRunStart: c.get<boolean>('metrics.openOnRunStart', true),
  };
}

/** The runs folder as an absolute path, relative ones inside the first workspace folder. */
export function runsRoot(settings: DpoSettings): string | undefined {
  if (path.isAbsolute(settings.runsFolder)) return settings.runsFolder;
  const ws = vscode.workspace.workspaceFolders?.[0];
  return ws ? path.join(ws.uri.fsPath, settings.runsFolder) : undefined;
}

export function newRunDir(root: string, mode: string): string {
  return path.join(root, `${mode}-${timeStamp()}`);
}

export interface LabelSettings {
  annotator: string;
  blind: boolean;
  blindSeed: number;
  /** Files larger than this many MB open in the labeling editor that reads from disk. */
  largeFileThresholdMB: number;
}

export function readLabelSettings(): LabelSettings {
  const c = vscode.workspace.getConfiguration('dpo.labeling');
  return {
    annotator: c.get<string>('annotator', '') || os.userInfo().username,
    blind: c.get<boolean>('blind', false),
    blindSeed: c.get<number>('blindSeed', 0),
    largeFileThresholdMB: c.get<number>('largeFileThresholdMB', 5),
  };
}
