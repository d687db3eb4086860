// New Training Run on a model made just now: a random model's frozen copy is a useless reference
// (its probe writes "pppp…" and a confident σ), so the run has two stages as `dpo demo` does: SFT
// on the chosen answers (the reference, the paper's preferred-FT), then DPO from it. Both configs
// are written first (so either stage can be started again from its file), the metrics panel shows
// both runs, and the DPO stage starts when the SFT stage completes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RUN_FILES, TrainingMode, timeStamp } from '../protocol';
import { readRunConfigFile } from '../node/config-file';
import { TINY_COMMON, TINY_SFT_STAGE } from '../node/tiny-recipe';
import { CommandContext, CommandResult, COMMANDS, fail } from './commands';
import { startRun } from './command-helpers';
import { newRunDir, readSettings, runsRoot } from './settings';

export interface TwoStageRun {
  model: string;
  data: string;
  /** The DPO stage's values (β, learning rate, epochs, engine, …). */
  dpo: Record<string, unknown>;
  /** Values over the SFT stage's recipe (tests and scripts). */
  sft?: Record<string, unknown>;
  /** The DPO stage's run name; the SFT stage is <name>-sft. */
  name?: string;
}

/** The SFT stage's config for a DPO run's answers: the same data, engine and length, the tiny recipe's SFT settings. */
export function sftStageConfig(run: TwoStageRun, outputDir: string): Record<string, unknown> {
  const { engine, max_length } = run.dpo;
  return {
    mode: 'sft',
    model: run.model,
    data: run.data,
    ...TINY_COMMON,
    ...TINY_SFT_STAGE,
    ...(engine ? { engine } : {}),
    ...(max_length ? { max_length } : {}),
    output_dir: outputDir,
  };
}

export async function startSftThenDpo(ctx: CommandContext, configDir: string, run: TwoStageRun): Promise<CommandResult> {
  const root = runsRoot(readSettings());
  if (!root) return fail('open a folder first: runs are written to its .dpo/runs folder (setting dpo.runsFolder)', ctx);
  const stamp = timeStamp();
  const sftDir = run.name ? path.join(root, `${run.name}-sft`) : newRunDir(root, 'sft');
  const dpoDir = run.name ? path.join(root, run.name) : newRunDir(root, 'dpo');
  const write = (name: string, body: Record<string, unknown>) => {
    const file = path.join(configDir, name);
    fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
    ctx.output.appendLine(`wrote run config ${file}`);
    return file;
  };
  const sftFile = write(`run-${stamp}-1-sft.dpo.json`, sftStageConfig(run, sftDir));
  // The DPO stage's model is the SFT stage's final model, which exists once stage 1 completes.
  const dpoBody = { mode: 'dpo', ...TINY_COMMON, ...run.dpo, model: path.join(sftDir, RUN_FILES.final), data: run.data, output_dir: dpoDir };
  const dpoFile = write(`run-${stamp}-2-dpo.dpo.json`, dpoBody);
  const first = await startRun(ctx, 'sft', readRunConfigFile(sftFile), path.basename(sftFile));
  if (!first.ok) return first;
  // The panel shows the two stages together (dpo.metrics.openOnRunStart off: the user opens it).
  const showStages = (runDirs: string[]) => {
    if (readSettings().openMetricsOnRunStart) void vscode.commands.executeCommand(COMMANDS.openMetrics, { runDirs });
  };
  showStages([sftDir]);
  const session = ctx.runs.all().find((s) => s.runDir === sftDir);
  void session?.ended.then(async (end) => {
    if (end.status !== 'completed') {
      void vscode.window.showWarningMessage(
        `DPO: stage 1 (SFT) ${end.status}, so stage 2 (DPO) was not started. Start it later with DPO: Start Run From Config on ${path.basename(dpoFile)} once ${sftDir} has its final model.`,
      );
      return;
    }
    ctx.output.appendLine(`stage 1 (SFT) completed: starting stage 2 (DPO) from ${dpoBody.model}`);
    const second = await startRun(ctx, 'dpo' as TrainingMode, readRunConfigFile(dpoFile), path.basename(dpoFile));
    if (second.ok) showStages([sftDir, dpoDir]);
  });
  return { ...first, path: dpoFile };
}
