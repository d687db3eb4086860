// "DPO: Evaluate Model…" and "DPO: Show Evaluation": the first asks which models, prompts, samples
// and judges (evaluate-steps.ts), then runs `dpo eval` (runEval) for each model in turn, each on its
// run's engine, into `<run>/eval/<name>/`, with progress (phase, done/total, ETA) and cancel; the
// second opens the Evaluate panel. Arguments skip the questions, for scripts and tests.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EvalSummary, RUN_EVAL_DIR, timeStamp } from '../protocol';
import { readRunConfig } from '../node/run-folder';
import { chooseEngine, torchInstalled } from '../node/engine-choice';
import { torchEnvDir } from '../node/torch-env';
import { runEval } from '../node/eval/run-eval';
import { EvalJob, QueueResult, runEvalJobs } from './eval-queue';
import { runEvalDir } from './eval-folders';
import { EvalAnswers, ModelChoice, askEvaluation } from './evaluate-steps';
import { EvaluatePanel, EvaluatePanelOptions } from './evaluate-panel';
import { listRunFolders, modelPickItems } from './run-folders';
import { readSettings, runsRoot } from './settings';
import { TorchEnvMissingError } from './run-manager';
import { offerTorchSetup } from './command-helpers';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';

export interface EvaluateArgs {
  /** Model folders (a run's final/ or checkpoints/step-N/, or any model folder): skips every question. */
  models?: string[];
  prompts?: string;
  samples?: number;
  rewardModel?: string;
  judge?: { url: string; model: string; apiKey?: string };
  maxNewTokens?: number;
  /** Only the first N prompts. */
  limit?: number;
}

/** The job for one model: its evaluation folder and engine (the run's, from config.json). */
export function jobFor(m: ModelChoice, settingEngine: ReturnType<typeof readSettings>['engine'], workspace: string | undefined): EvalJob {
  const inRun = runEvalDir(m.dir);
  if (inRun) {
    const read = readRunConfig(inRun.runDir);
    const config = read.ok ? (read.config as unknown as Record<string, unknown>) : {};
    return {
      model: m.dir,
      out: path.join(inRun.runDir, RUN_EVAL_DIR, inRun.name),
      label: `${path.basename(inRun.runDir)} ${inRun.name}`,
      engine: chooseEngine(config, settingEngine),
      reference: read.ok ? (read.config.reference_model ?? read.config.model) : undefined,
      fromRun: true,
    };
  }
  // A model outside any run: its evaluation goes beside the runs, named after it and the time.
  const root = workspace ? path.join(workspace, '.dpo', RUN_EVAL_DIR) : path.join(path.dirname(m.dir), RUN_EVAL_DIR);
  return {
    model: m.dir,
    out: path.join(root, `${path.basename(m.dir)}-${timeStamp()}`),
    label: m.label,
    engine: chooseEngine({}, settingEngine),
    fromRun: false,
  };
}

/** "run-a final: win rate 62.0% (judge llm:x), KL 0.412": one line per evaluation, for the toast and the log. */
export function resultLine(label: string, s: EvalSummary): string {
  const judge = Object.keys(s.judges)[0];
  const win = judge ? `win rate ${(s.judges[judge].win_rate * 100).toFixed(1)}% (${judge}), ` : '';
  const reward = s.models.policy.mean_reward !== undefined ? `, mean reward ${s.models.policy.mean_reward.toFixed(3)}` : '';
  return `${label}: ${win}KL ${s.kl.toFixed(3)}${reward}`;
}

export async function evaluateModel(
  ctx: CommandContext,
  secrets: vscode.SecretStorage,
  args: EvaluateArgs = {},
): Promise<CommandResult & { result?: QueueResult }> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  const settings = readSettings();
  const c = vscode.workspace.getConfiguration('dpo.eval');
  let answers: EvalAnswers | undefined;
  if (args.models) {
    if (!args.models.length) return fail('dpo.evaluateModel: `models` is empty; give at least one model folder', ctx);
    answers = {
      models: args.models.map((d) => ({ dir: d, label: path.basename(d) })),
      prompts: args.prompts,
      samples: args.samples ?? c.get<number>('samples', 2),
      rewardModel: args.rewardModel,
      judge: args.judge,
    };
  } else {
    const items = modelPickItems(listRunFolders(runsRoot(settings)));
    answers = await askEvaluation(items, secrets);
  }
  if (!answers) return { ok: false, error: 'cancelled' };
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const jobs = answers.models.map((m) => jobFor(m, settings.engine, ws));
  const noPrompts = jobs.filter((j) => !answers.prompts && !j.fromRun);
  if (noPrompts.length)
    return fail(`no prompts for ${noPrompts.map((j) => j.label).join(', ')}: a model outside a run has no eval split; pick "A JSONL file of prompts…"`, ctx);
  const envDir = torchEnvDir();
  if (jobs.some((j) => j.engine === 'torch') && !torchInstalled(envDir)) return offerTorchSetup(new TorchEnvMissingError(envDir), ctx);
  const log = (line: string) => ctx.output.appendLine(`eval: ${line}`);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'DPO: evaluating', cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let reported = 0;
      return runEvalJobs(
        jobs,
        {
          prompts: answers.prompts,
          samples: answers.samples,
          maxNewTokens: args.maxNewTokens ?? c.get<number>('maxNewTokens', 128),
          seed: 0,
          // Temperature 1 with no top-k/top-p: answers sampled from π itself, so the KL estimate is of KL(π‖π_ref).
          temperature: 1,
          rewardModel: answers.rewardModel,
          judge: answers.judge && { url: answers.judge.url, model: answers.judge.model, apiKey: answers.judge.apiKey, log },
          limit: args.limit,
          embedded: { enginePath: ctx.enginePath, nodePath: settings.nodePath || undefined, backend: settings.backend ?? undefined },
        },
        runEval,
        {
          signal: abort.signal,
          log,
          // withProgress takes increments, which cannot go back: a new phase restarts its own count.
          onProgress: (text, fraction) => {
            const increment = Math.max(0, fraction * 100 - reported);
            reported += increment;
            progress.report({ message: text, increment });
          },
        },
      );
    },
  );
  EvaluatePanel.current?.refresh();
  for (const d of result.done) log(resultLine(d.job.label, d.summary));
  if (result.failed.length) {
    const r = fail(`evaluation failed: ${result.failed.map((f) => `${f.job.label}: ${f.error}`).join('\n')}`, ctx);
    return { ...r, result };
  }
  if (result.cancelled) {
    void vscode.window.showInformationMessage(`DPO: evaluation cancelled after ${result.done.length} of ${jobs.length} model${jobs.length === 1 ? '' : 's'}`);
    return { ok: false, error: 'cancelled', result };
  }
  if (!args.models)
    void vscode.window
      .showInformationMessage(`DPO: evaluated ${result.done.map((d) => resultLine(d.job.label, d.summary)).join('; ')}`, 'Show Evaluation')
      .then((a) => a && showEvaluation(ctx));
  return { ok: true, path: result.done[0]?.job.out, result };
}

export async function showEvaluation(ctx: CommandContext, args: EvaluatePanelOptions = {}): Promise<CommandResult & { panel?: EvaluatePanel }> {
  const panel = EvaluatePanel.show(ctx.extensionUri, (l) => ctx.output.appendLine(l), args);
  return { ok: true, panel };
}
