// The run commands: start a run (from the palette's questions or a config file), stop it, resume
// it from its newest checkpoint, and list the runs folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TrainingMode, timeStamp } from '../protocol';
import { readRunConfigFile } from '../node/config-file';
import { RunError, RunSession } from './run-manager';
import { listRunFolders } from './run-folders';
import { runFile } from '../node/run-folder';
import { newRunDir, readSettings, runsRoot } from './settings';
import { COMMANDS, CommandContext, CommandResult, fail, requireTrust } from './commands';
import { makeTinyModel } from './model-commands';

async function confirmAnother(ctx: CommandContext, startAnother: boolean | undefined): Promise<boolean> {
  const active = ctx.runs.active();
  if (active.length === 0 || startAnother) return true;
  const pick = await vscode.window.showWarningMessage(
    `A DPO run is active (${path.basename(active[0].runDir)}). Start another one alongside it? Both share this machine's CPU or GPU.`,
    { modal: true },
    'Start Another',
  );
  return pick === 'Start Another';
}

async function startRun(ctx: CommandContext, mode: TrainingMode, config: Record<string, unknown>, source: string): Promise<CommandResult> {
  const root = runsRoot(readSettings());
  if (!config.output_dir) {
    if (!root) return fail('open a folder first: runs are written to its .dpo/runs folder (setting dpo.runsFolder)', ctx);
    config = { ...config, output_dir: newRunDir(root, mode) };
  }
  let session: RunSession;
  try {
    session = await ctx.runs.start(mode, config, source);
  } catch (err) {
    return fail(err instanceof RunError ? err.message : String(err), ctx);
  }
  void vscode.window.showInformationMessage(`DPO: ${mode.toUpperCase()} run started in ${session.runDir}`, 'Open Metrics', 'Stop').then((a) => {
    if (a === 'Stop') void vscode.commands.executeCommand(COMMANDS.stopRun, session.runDir);
    if (a === 'Open Metrics') void vscode.commands.executeCommand(COMMANDS.openMetrics, { runDirs: [session.runDir] });
  });
  return { ok: true, runDir: session.runDir };
}

export async function startRunFromConfig(ctx: CommandContext, target?: vscode.Uri | string): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  let file = typeof target === 'string' ? target : target?.fsPath ?? vscode.window.activeTextEditor?.document.uri.fsPath;
  if (!file || !/\.dpo\.json$|(^|[\\/])dpo\.config\.json$/.test(file)) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'DPO run config': ['json'] }, openLabel: 'Start Run' });
    file = picked?.[0]?.fsPath;
    if (!file) return { ok: false, error: 'cancelled' };
  }
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
  if (doc?.isDirty) await doc.save();
  let config: Record<string, unknown>;
  try {
    config = readRunConfigFile(file);
  } catch (err) {
    return fail((err as Error).message, ctx);
  }
  if (!(await confirmAnother(ctx, false))) return { ok: false, error: 'cancelled' };
  const mode = (config.mode === 'sft' ? 'sft' : 'dpo') as TrainingMode;
  return startRun(ctx, mode, config, path.basename(file));
}

interface NewRunArgs {
  model?: string;
  data?: string;
  mode?: TrainingMode;
  config?: Record<string, unknown>;
  startAnother?: boolean;
}

export async function newTrainingRun(ctx: CommandContext, args: NewRunArgs = {}): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  if (!(await confirmAnother(ctx, args.startAnother))) return { ok: false, error: 'cancelled' };
  const ws = vscode.workspace.workspaceFolders?.[0];
  if (!ws) return fail('open a folder first: a run writes its config and run folder inside it', ctx);
  const settings = readSettings();

  let model = args.model;
  if (!model) {
    const found = (await vscode.workspace.findFiles('**/config.json', '{**/node_modules/**,**/.dpo/runs/**}', 50))
      .map((u) => path.dirname(u.fsPath))
      .filter((d) => fs.existsSync(path.join(d, 'model.safetensors')) || fs.existsSync(path.join(d, 'model.safetensors.index.json')));
    const pick = await vscode.window.showQuickPick(
      [
        { label: '$(sparkle) Make a tiny model', description: 'a small random GPT-2 with a byte-level tokenizer', value: 'tiny' },
        { label: '$(folder-opened) Choose a model folder…', description: 'config.json + model.safetensors + tokenizer.json', value: 'browse' },
        ...found.map((d) => ({ label: `$(file-directory) ${vscode.workspace.asRelativePath(d)}`, description: d, value: d })),
      ],
      { title: 'DPO: New Training Run (1/3) — policy model', placeHolder: 'The model to tune; its frozen copy is the reference' },
    );
    if (!pick) return { ok: false, error: 'cancelled' };
    if (pick.value === 'tiny') {
      const made = await makeTinyModel(ctx, { out: path.join(ws.uri.fsPath, '.dpo', 'models', `tiny-${Date.now()}`) });
      if (!made.ok) return made;
      model = made.path;
    } else if (pick.value === 'browse') {
      model = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use Model' }))?.[0]?.fsPath;
    } else model = pick.value;
    if (!model) return { ok: false, error: 'cancelled' };
  }

  let data = args.data;
  if (!data) {
    const files = await vscode.workspace.findFiles('**/*.jsonl', '{**/node_modules/**,**/.dpo/**}', 100);
    const pick = await vscode.window.showQuickPick(
      [
        { label: '$(folder-opened) Choose a file…', description: '', value: 'browse' },
        ...files.map((u) => ({ label: `$(file) ${vscode.workspace.asRelativePath(u)}`, description: '', value: u.fsPath })),
      ],
      { title: 'DPO: New Training Run (2/3) — preference pairs', placeHolder: 'JSONL with prompt, chosen and rejected' },
    );
    if (!pick) return { ok: false, error: 'cancelled' };
    data = pick.value === 'browse' ? (await vscode.window.showOpenDialog({ filters: { 'Preference JSONL': ['jsonl'] }, openLabel: 'Use Data' }))?.[0]?.fsPath : pick.value;
    if (!data) return { ok: false, error: 'cancelled' };
  }

  let config: Record<string, unknown> = { beta: settings.beta, ...args.config };
  if (!args.config) {
    const ask = async (title: string, value: string, check: (v: number) => string | undefined) => {
      const v = await vscode.window.showInputBox({
        title: `DPO: New Training Run (3/3) — ${title}`, value, prompt: 'Enter to keep the default',
        validateInput: (s) => (s.trim() === '' || !Number.isFinite(Number(s)) ? 'a number' : check(Number(s))),
      });
      return v === undefined ? undefined : Number(v);
    };
    const beta = await ask('β (KL strength; rewards are β·log πθ/πref)', String(settings.beta), (v) => (v > 0 ? undefined : 'must be > 0'));
    if (beta === undefined) return { ok: false, error: 'cancelled' };
    const lr = await ask('learning rate', '1e-6', (v) => (v > 0 ? undefined : 'must be > 0'));
    if (lr === undefined) return { ok: false, error: 'cancelled' };
    const epochs = await ask('epochs', '1', (v) => (v > 0 ? undefined : 'must be > 0'));
    if (epochs === undefined) return { ok: false, error: 'cancelled' };
    config = { ...config, beta, learning_rate: lr, num_train_epochs: epochs };
  }
  // The run config is written as a file first, so the run can be repeated and edited (with
  // completion from the schema) and started again with "DPO: Start Run From Config".
  const configDir = path.join(ws.uri.fsPath, '.dpo', 'configs');
  fs.mkdirSync(configDir, { recursive: true });
  const configFile = path.join(configDir, `run-${timeStamp()}.dpo.json`);
  const body = { mode: args.mode ?? 'dpo', model, data, ...config };
  fs.writeFileSync(configFile, JSON.stringify(body, null, 2) + '\n');
  ctx.output.appendLine(`wrote run config ${configFile}`);
  const result = await startRun(ctx, body.mode as TrainingMode, readRunConfigFile(configFile), path.basename(configFile));
  return { ...result, path: configFile };
}

function pickRun(runs: RunSession[], title: string): Thenable<RunSession | undefined> {
  if (runs.length <= 1) return Promise.resolve(runs[0]);
  return vscode.window
    .showQuickPick(runs.map((s) => ({ label: path.basename(s.runDir), description: `${s.step}/${s.totalSteps}`, session: s })), { title })
    .then((p) => p?.session);
}

export async function stopRun(ctx: CommandContext, runDir?: string): Promise<CommandResult> {
  const active = ctx.runs.active();
  if (active.length === 0) {
    void vscode.window.showInformationMessage('DPO: no run is active.');
    return { ok: false, error: 'no active run' };
  }
  const session = runDir ? active.find((s) => s.runDir === runDir) : await pickRun(active, 'DPO: Stop Run');
  if (!session) return { ok: false, error: runDir ? `no active run in ${runDir}` : 'cancelled' };
  const end = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `DPO: stopping after the current step and writing a checkpoint (${path.basename(session.runDir)})` },
    () => ctx.runs.stop(session),
  );
  return { ok: end.status === 'stopped' || end.status === 'completed', runDir: session.runDir, error: end.message };
}

export async function resumeRun(ctx: CommandContext, runDir?: string): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  if (!runDir) {
    const resumable = listRunFolders(runsRoot(readSettings())).filter((r) => r.checkpoints.length > 0 && !ctx.runs.active().some((s) => s.runDir === r.dir));
    if (resumable.length === 0) {
      void vscode.window.showInformationMessage('DPO: no run with a checkpoint to resume in the runs folder (setting dpo.runsFolder).');
      return { ok: false, error: 'nothing to resume' };
    }
    const pick = await vscode.window.showQuickPick(
      resumable.map((r) => ({ label: path.basename(r.dir), description: `step ${r.lastStep}, checkpoint ${r.checkpoints[r.checkpoints.length - 1]}${r.finished ? ', finished' : ''}`, dir: r.dir })),
      { title: 'DPO: Resume Run', placeHolder: 'continues from the newest complete checkpoint' },
    );
    runDir = pick?.dir;
    if (!runDir) return { ok: false, error: 'cancelled' };
  }
  if (!(await confirmAnother(ctx, false))) return { ok: false, error: 'cancelled' };
  try {
    const session = await ctx.runs.resume(runDir);
    void vscode.window.showInformationMessage(`DPO: resumed ${path.basename(session.runDir)}`);
    return { ok: true, runDir: session.runDir };
  } catch (err) {
    return fail((err as Error).message, ctx);
  }
}

export async function showRuns(ctx: CommandContext): Promise<CommandResult & { runs?: string[] }> {
  const runs = listRunFolders(runsRoot(readSettings()));
  const active = new Map(ctx.runs.active().map((s) => [s.runDir, s]));
  const items = runs.map((r) => {
    const live = active.get(r.dir);
    const state = live ? `running ${live.step}/${live.totalSteps}` : r.finished ? 'finished' : r.checkpoints.length ? `stopped at ${r.lastStep} (resumable)` : `ended at ${r.lastStep}`;
    return { label: path.basename(r.dir), description: `${r.mode} · ${state}${r.lastLoss !== undefined ? ` · loss ${r.lastLoss.toFixed(4)}` : ''}`, dir: r.dir, resumable: !live && r.checkpoints.length > 0 };
  });
  if (items.length === 0) {
    void vscode.window.showInformationMessage('DPO: no runs yet in the runs folder (setting dpo.runsFolder).');
    return { ok: true, runs: [] };
  }
  void vscode.window.showQuickPick(items, { title: 'DPO: Runs', placeHolder: 'pick a run to open its log' }).then(async (pick) => {
    if (!pick) return;
    const action = await vscode.window.showQuickPick(['Open Log', 'Open Config', ...(pick.resumable ? ['Resume'] : []), 'Reveal Folder'], { title: pick.label });
    if (action === 'Open Log') void vscode.window.showTextDocument(vscode.Uri.file(runFile(pick.dir, 'log')));
    if (action === 'Open Config') void vscode.window.showTextDocument(vscode.Uri.file(runFile(pick.dir, 'config')));
    if (action === 'Resume') void vscode.commands.executeCommand(COMMANDS.resumeRun, pick.dir);
    if (action === 'Reveal Folder') void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(pick.dir));
  });
  return { ok: true, runs: runs.map((r) => r.dir) };
}
