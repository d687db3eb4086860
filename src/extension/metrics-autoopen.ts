// Opens the metrics panel by itself when a run starts (setting dpo.metrics.openOnRunStart): a
// session of this window's run manager (New Training Run, Start Run From Config, Resume Run) the
// moment it is created, and a run a terminal starts (`dpo train`) when its config.json appears in
// the runs folder. It does not decide what the panel shows; metrics-panel.ts does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RUN_FILES } from '../protocol';
import { readRunConfig } from '../node/run-folder';
import { MetricsPanel } from './metrics-panel';
import { RunManager } from './run-manager';
import { readSettings, runsRoot } from './settings';

/** How long a new run folder may take to hold a complete config.json. */
const CONFIG_WAIT_MS = 30_000;
/** The runs folder is also listed this often: a watcher can miss or delay events (a loaded machine, a network disk). */
const LIST_MS = 2000;

export function openMetricsOnRunStart(runs: RunManager, extensionUri: vscode.Uri, log: (l: string) => void): vscode.Disposable {
  const open = (runDir: string) => {
    if (!readSettings().openMetricsOnRunStart) return;
    // Focus stays where it was: in the palette's flow that is the panel anyway, and a terminal keeps its typing.
    MetricsPanel.show(extensionUri, runs, [runDir], log, { preserveFocus: true });
  };
  const subs: vscode.Disposable[] = [runs.onDidStartSession((s) => open(s.runDir))];
  const watched = watchRunsFolder(runs, open);
  subs.push(
    watched,
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('dpo.runsFolder') && watched.restart()),
  );
  return vscode.Disposable.from(...subs);
}

/**
 * A watcher on the runs folder's folders and their config.json that reports new run folders no
 * session of this window runs. Both: a folder created with its files at once is reported as the
 * folder alone (the watcher coalesces the events under it).
 */
function watchRunsFolder(runs: RunManager, open: (runDir: string) => void): vscode.Disposable & { restart(): void } {
  let watcher: vscode.FileSystemWatcher | undefined;
  let sub: vscode.Disposable | undefined;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    const root = runsRoot(readSettings());
    if (!root) return;
    const list = () => (fs.existsSync(root) ? fs.readdirSync(root).map((n) => path.join(root, n)) : []);
    // Folders there before are not new runs.
    const seen = new Set<string>(list());
    const found = (dir: string) => {
      if (path.dirname(dir) !== root || seen.has(dir)) return;
      seen.add(dir);
      // This window's runs write config.json too: those opened when their session began.
      if (runs.all().some((s) => s.runDir === dir)) return;
      void whenReadable(dir).then((ok) => ok && !runs.all().some((s) => s.runDir === dir) && open(dir));
    };
    watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), '{*,*/config.json}'), false, true, true);
    sub = watcher.onDidCreate((uri) => found(path.basename(uri.fsPath) === 'config.json' ? path.dirname(uri.fsPath) : uri.fsPath));
    timer = setInterval(() => list().forEach(found), LIST_MS);
  };
  const stop = () => {
    sub?.dispose();
    watcher?.dispose();
    clearInterval(timer);
  };
  start();
  return {
    dispose: stop,
    restart: () => {
      stop();
      start();
    },
  };
}

/**
 * Whether the folder becomes a running run within CONFIG_WAIT_MS: a complete config.json and the
 * writer's run.lock (a folder copied or written by hand, without a trainer, is not a run starting).
 */
async function whenReadable(dir: string): Promise<boolean> {
  for (const until = Date.now() + CONFIG_WAIT_MS; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
    if (fs.existsSync(path.join(dir, RUN_FILES.lock)) && readRunConfig(dir).ok) return true;
  }
  return false;
}
