// The questions "DPO: Evaluate Model…" asks, as a flow with a Back button (quick-steps.ts): which
// models (several runs and checkpoints), which prompts, how many samples, a reward model, an LLM
// judge (URL, model, and its key from VS Code's secret storage, never from settings or files).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BACK, PickItem, StepAnswer, inputStep, outcome, pickStep, runSteps } from './quick-steps';

export interface ModelChoice {
  dir: string;
  label: string;
}

export interface EvalAnswers {
  models: ModelChoice[];
  /** A JSONL of prompts; undefined: each run's eval split. */
  prompts?: string;
  samples: number;
  rewardModel?: string;
  judge?: { url: string; model: string; apiKey?: string };
}

const TITLE = 'DPO: Evaluate Model';
const BROWSE = '\u0000browse';

/** Several rows at once (a run's final model and its checkpoints), with Back. */
function pickManyStep(items: (vscode.QuickPickItem & { dir: string })[], picked: string[], back: boolean): Promise<StepAnswer<string[]>> {
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { dir: string }>();
  qp.title = `${TITLE} (1/5): models`;
  qp.placeholder = 'the tuned models to compare with their reference (Space to pick several, Enter to go on)';
  qp.canSelectMany = true;
  qp.ignoreFocusOut = true;
  qp.items = items;
  qp.selectedItems = items.filter((i) => picked.includes(i.dir));
  qp.buttons = back ? [vscode.QuickInputButtons.Back] : [];
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: StepAnswer<string[]>) => {
      if (done) return;
      done = true;
      qp.dispose();
      resolve(v);
    };
    qp.onDidAccept(() => qp.selectedItems.length > 0 && finish(qp.selectedItems.map((i) => i.dir)));
    qp.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

async function folder(openLabel: string, title: string): Promise<string | undefined> {
  return (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel, title }))?.[0]?.fsPath;
}

/** The key for a judge URL in secret storage. */
export const judgeKeyName = (url: string) => `dpo.judgeKey:${url}`;

async function judgeKey(secrets: vscode.SecretStorage, url: string): Promise<string | undefined | typeof BACK> {
  const stored = await secrets.get(judgeKeyName(url));
  if (stored) {
    const pick = await pickStep<'stored' | 'new' | 'none'>({
      title: `${TITLE} (5/5): the judge's API key`,
      placeHolder: `a key for ${url} is in VS Code's secret storage`,
      back: true,
      items: [
        { label: 'Use the stored key', value: 'stored' },
        { label: 'Enter a new key', value: 'new' },
        { label: 'No key', description: 'a local endpoint such as dpo serve', value: 'none' },
      ],
    });
    if (pick === BACK || pick === undefined) return pick;
    if (pick === 'stored') return stored;
    if (pick === 'none') return '';
  }
  const typed = await vscode.window.showInputBox({
    title: `${TITLE} (5/5): the judge's API key`,
    prompt: `Sent to ${url} as a bearer token; kept in VS Code's secret storage, never in settings, run folders or logs. Empty for none.`,
    password: true,
    ignoreFocusOut: true,
  });
  if (typed === undefined) return undefined;
  if (typed) await secrets.store(judgeKeyName(url), typed);
  return typed;
}

/** Asks everything; undefined when cancelled. */
export async function askEvaluation(models: (vscode.QuickPickItem & { dir: string })[], secrets: vscode.SecretStorage): Promise<EvalAnswers | undefined> {
  const c = vscode.workspace.getConfiguration('dpo.eval');
  const a: EvalAnswers = { models: [], samples: c.get<number>('samples', 2) };
  let picked: string[] = [];
  // Set inside the steps (closures), so typed wide: TypeScript would narrow a plain initialiser.
  let promptChoice = 'split' as 'split' | 'file';
  let rmChoice = 'none' as 'none' | 'folder';
  let judgeChoice = 'none' as 'none' | 'endpoint';
  const browse = { label: '$(folder-opened) Choose a model folder…', description: '', dir: BROWSE };
  const result = await runSteps([
    async (back) => outcome(await pickManyStep([...models, browse], picked, back), (dirs) => (picked = dirs)),
    async (back) => {
      // A browsed folder joins the picked rows (after the pick, so Back shows the rows again).
      const dirs = picked.filter((d) => d !== BROWSE);
      if (picked.includes(BROWSE)) {
        const more = await folder('Evaluate This Model', 'A model folder to evaluate');
        if (more) dirs.push(more);
      }
      a.models = dirs.map((d) => ({ dir: d, label: models.find((m) => m.dir === d)?.label.replace(/^\$\([^)]*\)\s*/, '') ?? path.basename(d) }));
      if (a.models.length === 0) return 'back';
      return outcome(
        await pickStep<'split' | 'file'>({
          title: `${TITLE} (2/5): prompts`,
          placeHolder: 'held-out prompts to answer',
          back,
          active: promptChoice,
          items: [
            { label: "Each run's eval split", description: 'the default', value: 'split' },
            { label: 'A JSONL file of prompts…', description: 'prompt per line (text or a conversation)', value: 'file' },
          ],
        }),
        (v) => (promptChoice = v),
      );
    },
    async (back) => {
      if (promptChoice === 'file') {
        const f = (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { JSONL: ['jsonl'] }, openLabel: 'Use These Prompts' }))?.[0]?.fsPath;
        if (!f) return 'back';
        a.prompts = f;
      } else a.prompts = undefined;
      return outcome(
        await inputStep({
          title: `${TITLE} (3/5): samples per prompt`,
          value: String(a.samples),
          prompt: 'answers sampled per prompt from each model (fixed seeds)',
          back,
          validate: (t) => (/^\d+$/.test(t.trim()) && Number(t) >= 1 && Number(t) <= 64 ? undefined : 'a whole number from 1 to 64'),
        }),
        (v) => (a.samples = Number(v)),
      );
    },
    async (back) =>
      outcome(
        await pickStep<'none' | 'folder'>({
          title: `${TITLE} (4/5): reward model`,
          placeHolder: 'a sequence-classification model that scores answers (optional)',
          back,
          active: rmChoice,
          items: [
            { label: 'No reward model', value: 'none' },
            { label: 'A reward model folder…', description: "what TRL's RewardTrainer writes", value: 'folder' },
          ],
        }),
        (v) => (rmChoice = v),
      ),
    async (back) => {
      a.rewardModel = rmChoice === 'folder' ? await folder('Use as Reward Model', 'The reward model folder') : undefined;
      if (rmChoice === 'folder' && !a.rewardModel) return 'back';
      const items: PickItem<'none' | 'endpoint'>[] = [
        { label: 'No LLM judge', value: 'none' },
        { label: 'An OpenAI-compatible endpoint…', description: 'URL, model and key', value: 'endpoint' },
      ];
      return outcome(
        await pickStep({ title: `${TITLE} (5/5): LLM judge`, placeHolder: 'judges each pair in both orders (optional)', back, active: judgeChoice, items }),
        (v) => (judgeChoice = v),
      );
    },
  ]);
  if (result !== 'done') return undefined;
  if (judgeChoice === 'endpoint') {
    const url = await vscode.window.showInputBox({
      title: `${TITLE} (5/5): the judge's base URL`,
      value: c.get<string>('judgeUrl', ''),
      prompt: 'an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1 (DPO: Serve Model prints one)',
      ignoreFocusOut: true,
      validateInput: (v) => (/^https?:\/\/\S+$/.test(v.trim()) ? undefined : 'an http:// or https:// URL'),
    });
    if (!url) return undefined;
    const model = await vscode.window.showInputBox({
      title: `${TITLE} (5/5): the judge's model name`,
      value: c.get<string>('judgeModel', ''),
      prompt: 'as the endpoint names it (/v1/models)',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'a model name'),
    });
    if (!model) return undefined;
    const key = await judgeKey(secrets, url.trim());
    if (key === undefined || key === BACK) return undefined;
    a.judge = { url: url.trim(), model: model.trim(), apiKey: key || undefined };
  }
  return a;
}
