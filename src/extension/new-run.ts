// "DPO: New Training Run": model, data, engine (and on the PyTorch engine LoRA, precision and GPUs),
// then β, learning rate and epochs; writes the answers as a run config file and starts it. Arguments
// skip the questions, so tests and scripts can drive it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineName, TrainingMode, timeStamp } from '../protocol';
import { readRunConfigFile } from '../node/config-file';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';
import { confirmAnother, offerTorchSetup, startRun } from './command-helpers';
import { TorchEnvMissingError } from './run-manager';
import { torchEnvDir } from '../node/torch-env';
import { makeTinyModel } from './model-commands';
import { readSettings } from './settings';
import { askEngine, askTorchOptions } from './new-run-engine';
import { chooseEngine, torchInstalled } from '../node/engine-choice';

const TITLE = 'DPO: New Training Run';

export interface NewRunArgs {
  model?: string;
  data?: string;
  mode?: TrainingMode;
  /** Run config values; given, the β / learning-rate / epochs questions are skipped. */
  config?: Record<string, unknown>;
  /** The engine; absent, asked (or, with `config`, taken from it or the dpo.engine setting). */
  engine?: EngineName;
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
      { title: `${TITLE} (1/5) — policy model`, placeHolder: 'The model to tune; its frozen copy is the reference', ignoreFocusOut: true },
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
      { title: `${TITLE} (2/5) — preference pairs`, placeHolder: 'JSONL with prompt, chosen and rejected', ignoreFocusOut: true },
    );
    if (!pick) return { ok: false, error: 'cancelled' };
    data =
      pick.value === 'browse'
        ? (await vscode.window.showOpenDialog({ filters: { 'Preference JSONL': ['jsonl'] }, openLabel: 'Use Data' }))?.[0]?.fsPath
        : pick.value;
    if (!data) return { ok: false, error: 'cancelled' };
  }

  // Scripted runs (with a config) are not asked: their config's engine, else the setting's.
  const engine = args.engine ?? (args.config ? chooseEngine(args.config, settings.engine) : await askEngine(settings.engine));
  if (!engine) return { ok: false, error: 'cancelled' };
  // Offer the set-up now rather than after the remaining questions.
  if (engine === 'torch' && !torchInstalled()) return offerTorchSetup(new TorchEnvMissingError(torchEnvDir()), ctx);
  let engineFields: Record<string, unknown> = { engine };
  if (engine === 'torch' && !args.config) {
    const torch = await askTorchOptions(model);
    if (!torch) return { ok: false, error: 'cancelled' };
    engineFields = { ...engineFields, ...torch };
  }

  let config: Record<string, unknown> = { beta: settings.beta, ...engineFields, ...args.config };
  if (!args.config) {
    // Steps 3-5; the engine questions between 2 and 3 are asked only when they apply, so they are not numbered.
    const ask = async (step: number, title: string, value: string, range: string) => {
      const v = await vscode.window.showInputBox({
        title: `${TITLE} (${step}/5) — ${title}`,
        value,
        prompt: `${range}. Enter keeps the value shown.`,
        ignoreFocusOut: true,
        validateInput: (s) => (s.trim() !== '' && Number(s) > 0 && Number.isFinite(Number(s)) ? undefined : `Enter ${range}`),
      });
      return v === undefined ? undefined : Number(v);
    };
    const beta = await ask(3, 'β (KL strength; rewards are β·log πθ/πref)', String(settings.beta), 'a number > 0, typically 0.01 to 0.5');
    if (beta === undefined) return { ok: false, error: 'cancelled' };
    const lr = await ask(4, 'learning rate', '1e-6', 'a number > 0, such as 1e-6 (TRL default) to 1e-3 (tiny models)');
    if (lr === undefined) return { ok: false, error: 'cancelled' };
    const epochs = await ask(5, 'epochs', '1', 'a number > 0 of passes over the data (fractions allowed, e.g. 0.5)');
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
