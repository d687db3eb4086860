// The steps of "DPO: New Training Run" that are more than a number: the model and data pickers, and
// the summary before starting (Start, or Edit one answer). Each answers with a value, Back or cancel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_CONFIG, EngineName, OBJECTIVES, runNameProblem } from '../protocol';
import { CommandContext } from './commands';
import { makeTinyModel } from './model-commands';
import { EmbeddedChoices, TorchChoices } from './new-run-engine';
import { torchInstalled } from '../node/engine-choice';
import { BACK, PickItem, StepAnswer, StepOutcome, pickStep } from './quick-steps';

const TITLE = 'DPO: New Training Run';

/** What the flow has gathered so far; each step reads its previous answer from here. */
export interface Answers {
  model?: string;
  data?: string;
  engine?: EngineName;
  torch?: TorchChoices;
  /** Asked only for models above ~20M parameters on the embedded engine. */
  embedded?: EmbeddedChoices;
  beta: number;
  /** Undefined until asked: the suggestion depends on the model's size. */
  lr?: number;
  epochs: number;
  /**
   * SFT on the chosen answers first, then DPO from it (new-run-stages.ts): set when the model was made
   * just now (a random model's copy is no reference); the summary can turn it on or off.
   */
  sftFirst?: boolean;
  /** The run's name: its folder under the runs folder; undefined: <mode>-<time>. */
  name?: string;
  /** A key of OBJECTIVES; changed from the summary only. */
  objective: string;
  /** The summary's Edit "Objective" was picked: its step asks once. */
  askObjective?: boolean;
}

/** The summary's index of the objective step (after epochs). */
export const OBJECTIVE_STEP = 7;

/** Learning rates as typed (5e-4, not 0.0005); other numbers as they are. */
export function shortNumber(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

/** 'again': a file dialog was closed without a choice, so the same step is shown again. */
type Picked = StepAnswer<string> | 'again';

export async function pickModel(ctx: CommandContext, root: string, back: boolean, onMadeTiny?: () => void): Promise<Picked> {
  const found = (await vscode.workspace.findFiles('**/config.json', '{**/node_modules/**,**/.dpo/runs/**}', 50))
    .map((u) => path.dirname(u.fsPath))
    .filter((d) => fs.existsSync(path.join(d, 'model.safetensors')) || fs.existsSync(path.join(d, 'model.safetensors.index.json')));
  const pick = await pickStep({
    title: `${TITLE} (1/5) — policy model`,
    placeHolder: 'The model to tune; its frozen copy is the reference',
    back,
    items: [
      { label: '$(sparkle) Make a tiny model', description: 'a small random GPT-2 with a byte-level tokenizer', value: 'tiny' },
      { label: '$(folder-opened) Choose a model folder…', description: 'config.json + model.safetensors + tokenizer.json', value: 'browse' },
      ...found.map((d) => ({ label: `$(file-directory) ${vscode.workspace.asRelativePath(d)}`, description: d, value: d })),
    ],
  });
  if (pick === 'tiny') {
    const made = await makeTinyModel(ctx, { out: path.join(root, '.dpo', 'models', `tiny-${Date.now()}`) });
    if (made.ok) onMadeTiny?.();
    return made.ok ? made.path : undefined;
  }
  if (pick === 'browse') {
    const chosen = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use Model' }))?.[0]?.fsPath;
    return chosen ?? 'again';
  }
  return pick;
}

export async function pickData(back: boolean): Promise<Picked> {
  const files = await vscode.workspace.findFiles('**/*.jsonl', '{**/node_modules/**,**/.dpo/**}', 100);
  const pick = await pickStep({
    title: `${TITLE} (2/5) — preference pairs`,
    placeHolder: 'JSONL with prompt, chosen and rejected',
    back,
    items: [
      { label: '$(folder-opened) Choose a file…', description: '', value: 'browse' },
      ...files.map((u) => ({ label: `$(file) ${vscode.workspace.asRelativePath(u)}`, description: '', value: u.fsPath })),
    ],
  });
  if (pick !== 'browse') return pick;
  const chosen = (await vscode.window.showOpenDialog({ filters: { 'Preference JSONL': ['jsonl'] }, openLabel: 'Use Data' }))?.[0]?.fsPath;
  return chosen ?? 'again';
}

/**
 * About how many optimizer steps the answers make, from the data file's line count and the default
 * batch, accumulation and held-out fraction (bad lines, dropped later, make it a little less).
 */
export function estimateSteps(lines: number, epochs: number, config = DEFAULT_CONFIG): number {
  const train = lines - Math.round(lines * config.eval_fraction);
  return Math.ceil(Math.ceil(train / (config.batch_size * config.gradient_accumulation_steps)) * epochs);
}

function countLines(file: string): number | undefined {
  // Counted only for files that read in a moment; a summary must not stall on a multi-GB file.
  if (fs.statSync(file).size > 64 * 2 ** 20) return undefined;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

/** The last step: what will run, with Start and one Edit row per answer that was asked. */
export async function reviewAnswers(
  a: Answers,
  given: { model?: string; data?: string; engine?: EngineName },
  back: boolean,
  runsRoot?: string,
): Promise<StepOutcome> {
  const lines = countLines(a.data!);
  const steps = lines !== undefined ? `about ${estimateSteps(lines, a.epochs)} steps of ${DEFAULT_CONFIG.batch_size} pairs` : 'steps: from the data';
  const torch =
    a.engine === 'torch' && a.torch
      ? ` · ${a.torch.lora_r ? `LoRA r${a.torch.lora_r}` : 'full fine-tuning'} · ${a.torch.dtype}`
      : a.embedded
        ? ` · ${a.embedded.lora_r ? `LoRA r${a.embedded.lora_r}, recomputed blocks` : 'full fine-tuning'}`
        : '';
  const edit = (step: number, label: string, description: string, asked = true): PickItem<number>[] =>
    asked ? [{ label: `$(edit) ${label}`, description, value: step }] : [];
  const items: PickItem<number>[] = [
    { label: '$(play) Start training', description: 'writes the run config to .dpo/configs/ and starts it', value: -1 },
    { label: '', kind: vscode.QuickPickItemKind.Separator, value: -2 },
    ...edit(0, `Model: ${vscode.workspace.asRelativePath(a.model!)}`, '', !given.model),
    ...edit(1, `Data: ${vscode.workspace.asRelativePath(a.data!)}`, lines !== undefined ? `${lines} pairs` : '', !given.data),
    ...edit(2, `Engine: ${a.engine === 'torch' ? 'PyTorch' : 'embedded (tfjs)'}${torch}`, '', (!given.engine && torchInstalled()) || a.embedded !== undefined),
    ...edit(OBJECTIVE_STEP, `Objective: ${OBJECTIVES[a.objective]?.title ?? a.objective}`, OBJECTIVES[a.objective]?.when ?? ''),
    ...edit(4, `β: ${a.beta}`, ''),
    ...edit(5, `Learning rate: ${shortNumber(a.lr!)}`, ''),
    ...edit(6, `Epochs: ${a.epochs}`, steps),
    {
      label: `$(tag) Name: ${a.name ?? 'dpo-<time> (pick to name the run)'}`,
      description: 'the run folder under .dpo/runs, shown in the metrics panel and Show Runs',
      value: RENAME,
    },
    {
      label: `$(layers) Stages: ${a.sftFirst ? 'SFT on the chosen answers, then DPO from it' : 'DPO only'}`,
      description: a.sftFirst
        ? 'the SFT model is the reference (as `dpo demo` does); pick to run DPO only'
        : 'pick to fine-tune on the chosen answers first: a new or random model needs it',
      value: TOGGLE_STAGES,
    },
  ];
  const pick = await pickStep({ title: `${TITLE} — summary`, placeHolder: 'Start the run, or pick an answer to change it', items, back });
  if (pick === BACK) return 'back';
  if (pick === undefined) return 'cancel';
  if (pick === RENAME) {
    const name = await vscode.window.showInputBox({
      title: `${TITLE} — run name`,
      value: a.name ?? '',
      prompt: 'The run folder under .dpo/runs; empty: dpo-<time>',
      ignoreFocusOut: true,
      validateInput: (v) =>
        v === ''
          ? undefined
          : (runNameProblem(v) ?? (runsRoot && fs.existsSync(path.join(runsRoot, v)) ? `.dpo/runs/${v} exists: choose another name` : undefined)),
    });
    if (name !== undefined) a.name = name === '' ? undefined : name;
    return { goto: SUMMARY_STEP };
  }
  if (pick === TOGGLE_STAGES) {
    a.sftFirst = !a.sftFirst;
    return { goto: SUMMARY_STEP };
  }
  return pick === -1 ? 'next' : { goto: pick };
}

/** The summary's index among New Training Run's steps, and its stages row's value. */
export const SUMMARY_STEP = OBJECTIVE_STEP + 1;
const TOGGLE_STAGES = -3;
const RENAME = -4;
