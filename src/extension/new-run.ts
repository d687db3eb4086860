// "DPO: New Training Run": model, data, engine (and on the PyTorch engine LoRA, precision and GPUs),
// then β, learning rate and epochs (the objective from the summary); writes the answers as a run config file and starts it. Arguments
// skip the questions, so tests and scripts can drive it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineName, TrainingMode, objectiveFields, timeStamp } from '../protocol';
import { readRunConfigFile } from '../node/config-file';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';
import { confirmAnother, offerTorchSetup, startRun } from './command-helpers';
import { TorchEnvMissingError } from './run-manager';
import { torchEnvDir } from '../node/torch-env';
import { readSettings, runsRoot } from './settings';
import { askEmbeddedOptions, askEngine, askTorchOptions, engineWithoutAsking } from './new-run-engine';
import { chooseEngine, torchInstalled } from '../node/engine-choice';
import { countParameters, defaultLearningRate } from '../node/model-size';
import { BACK, StepOutcome, inputStep, outcome, runSteps } from './quick-steps';
import { Answers, OBJECTIVE_STEP, pickData, pickModel, reviewAnswers, shortNumber } from './new-run-steps';
import { askObjective } from './new-run-objective';
import { startSftThenDpo } from './new-run-stages';
import { TINY_DPO_STAGE } from '../node/tiny-recipe';

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
  /** Two stages: SFT on the chosen answers, then DPO from it (asked for, or set when the model is made in the flow). */
  sftFirst?: boolean;
  /** The run's name (its folder under the runs folder); asked in the summary otherwise. */
  name?: string;
  /** With `sftFirst` and `config`: values that override the SFT stage's recipe. */
  sftConfig?: Record<string, unknown>;
}

export async function newTrainingRun(ctx: CommandContext, args: NewRunArgs = {}): Promise<CommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  if (!(await confirmAnother(ctx, args.startAnother))) return { ok: false, error: 'cancelled' };
  const ws = vscode.workspace.workspaceFolders?.[0];
  if (!ws) return fail('open a folder first: a run writes its config and run folder inside it', ctx);
  const settings = readSettings();
  const scripted = args.config !== undefined;
  const root = ws.uri.fsPath;
  const a: Answers = {
    model: args.model,
    data: args.data,
    engine: args.engine,
    beta: settings.beta,
    lr: undefined,
    epochs: 1,
    objective: 'sigmoid',
    name: args.name,
  };
  const number = (text: string) => (text.trim() !== '' && Number.isFinite(Number(text)) && Number(text) > 0 ? Number(text) : undefined);
  const ask = async (back: boolean, step: number, title: string, value: number, prompt: string, example: string) => {
    const v = await inputStep({
      title: `${TITLE} (${step}/5) — ${title}`,
      value: shortNumber(value),
      prompt: `${prompt}. Enter keeps the value shown.`,
      back,
      validate: (text) => (number(text) === undefined ? `Enter a number greater than 0, e.g. ${example}` : undefined),
    });
    return v === BACK || v === undefined ? v : number(v)!;
  };
  // Steps, by index (the summary's Edit jumps back to one): model, data, engine, PyTorch options, β, learning rate, epochs, objective, summary.
  const steps: ((back: boolean) => Promise<StepOutcome>)[] = [
    async (back) => {
      if (args.model) return 'skip';
      let madeTiny = false;
      const picked = await pickModel(ctx, root, back, () => (madeTiny = true));
      return picked === 'again'
        ? { goto: 0 }
        : outcome(picked, (v) => {
            a.model = v;
            // A model made just now is random: SFT first (the demo's recipe), unless the summary turns it off.
            a.sftFirst = madeTiny;
            if (madeTiny) [a.beta, a.lr, a.epochs] = [TINY_DPO_STAGE.beta, TINY_DPO_STAGE.learning_rate, TINY_DPO_STAGE.num_train_epochs];
          });
    },
    async (back) => {
      if (args.data) return 'skip';
      const picked = await pickData(back);
      return picked === 'again' ? { goto: 1 } : outcome(picked, (v) => (a.data = v));
    },
    async (back) => {
      // Scripted runs (with a config) are not asked: their config's engine, else the setting's.
      if (args.engine) return 'skip';
      if (scripted) return ((a.engine = chooseEngine(args.config!, settings.engine)), 'skip');
      const fixed = engineWithoutAsking(settings.engine);
      if (fixed) return ((a.engine = fixed), 'skip');
      return outcome(await askEngine(settings.engine, back, a.engine), (v) => (a.engine = v));
    },
    async () => {
      // Offer the set-up now rather than after the remaining questions.
      if (a.engine === 'torch' && !torchInstalled()) return 'cancel';
      if (scripted) return 'skip';
      if (a.engine !== 'torch') {
        const embedded = await askEmbeddedOptions(a.model!, a.embedded);
        return embedded === 'skip' ? ((a.embedded = undefined), 'skip') : outcome(embedded, (v) => (a.embedded = v));
      }
      return outcome(await askTorchOptions(a.model!, a.torch), (v) => (a.torch = v));
    },
    async (back) =>
      scripted
        ? 'skip'
        : outcome(
            await ask(back, 3, 'β (KL strength; rewards are β·log πθ/πref)', a.beta, 'A number greater than 0, typically 0.01 to 0.5', '0.1'),
            (v) => (a.beta = v),
          ),
    async (back) => {
      if (scripted) return 'skip';
      const suggested = defaultLearningRate(countParameters(a.model!));
      const prompt = `A number greater than 0. Suggested ${shortNumber(suggested.value)} (${suggested.why})`;
      return outcome(await ask(back, 4, 'learning rate', a.lr ?? suggested.value, prompt, shortNumber(suggested.value)), (v) => (a.lr = v));
    },
    async (back) =>
      scripted
        ? 'skip'
        : outcome(
            await ask(back, 5, 'epochs', a.epochs, 'A number greater than 0 of passes over the data (fractions allowed, e.g. 0.5)', '1'),
            (v) => (a.epochs = v),
          ),
    async (back) => {
      if (scripted || !a.askObjective) return 'skip';
      a.askObjective = false;
      return outcome(await askObjective(a.engine ?? 'tfjs', a.objective, back), (v) => (a.objective = v));
    },
    async (back) => {
      if (scripted) return 'skip';
      const r = await reviewAnswers(a, args, back, runsRoot(settings));
      if (typeof r === 'object' && r.goto === OBJECTIVE_STEP) a.askObjective = true;
      return r;
    },
  ];
  const flow = await runSteps(steps);
  if (a.engine === 'torch' && !torchInstalled()) return offerTorchSetup(new TorchEnvMissingError(torchEnvDir()), ctx);
  if (flow !== 'done') return { ok: false, error: 'cancelled' };
  const model = a.model!;
  const data = a.data!;
  const config: Record<string, unknown> = scripted
    ? { beta: settings.beta, engine: a.engine, ...args.config }
    : {
        beta: a.beta,
        engine: a.engine,
        ...(a.engine === 'torch' ? a.torch : a.embedded),
        learning_rate: a.lr,
        num_train_epochs: a.epochs,
        ...(a.objective !== 'sigmoid' ? objectiveFields(a.objective) : {}),
      };
  // The run config is written as a file first, so the run can be repeated and edited (with
  // completion from the schema) and started again with "DPO: Start Run From Config".
  const configDir = path.join(ws.uri.fsPath, '.dpo', 'configs');
  fs.mkdirSync(configDir, { recursive: true });
  if (args.sftFirst !== undefined) a.sftFirst = args.sftFirst;
  if (a.sftFirst && (args.mode ?? 'dpo') === 'dpo') {
    const dpo = {
      ...config,
      batch_size: TINY_DPO_STAGE.batch_size,
      precompute_ref_log_probs: true,
      lr_scheduler_type: TINY_DPO_STAGE.lr_scheduler_type,
      warmup_ratio: TINY_DPO_STAGE.warmup_ratio,
      // RPO's NLL term keeps the words (tiny-recipe.ts), as a loss list both engines take; other objectives as chosen.
      ...(a.objective === 'sigmoid' ? { loss_type: ['sigmoid', 'sft'], loss_weights: [1, TINY_DPO_STAGE.sft_weight] } : {}),
    };
    return startSftThenDpo(ctx, configDir, { model, data, dpo: scripted ? config : dpo, sft: args.sftConfig, name: a.name });
  }
  const configFile = path.join(configDir, `run-${timeStamp()}.dpo.json`);
  const root0 = runsRoot(settings);
  const body = { mode: args.mode ?? 'dpo', model, data, ...config, ...(a.name && root0 ? { output_dir: path.join(root0, a.name) } : {}) };
  fs.writeFileSync(configFile, JSON.stringify(body, null, 2) + '\n');
  ctx.output.appendLine(`wrote run config ${configFile}`);
  const result = await startRun(ctx, body.mode as TrainingMode, readRunConfigFile(configFile), path.basename(configFile));
  return { ...result, path: configFile };
}
