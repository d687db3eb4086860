// DPO: Review Suspicious Pairs: `dpo triage` on a run's final model (or a checkpoint) in its own
// Node process, then the run's data file in the labeling editor (the one already open, or a new
// one) as a review queue of the flagged pairs in triage order (labeling/review-queue.ts). And the
// suggestion that follows a review: a new run config with conservative DPO at the estimated noise rate.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DpoConfig, RUN_FILES, hasLossMember, objectiveOf, parseTriageRows, scoreNote } from '../protocol';
import { readRunConfig, runFile } from '../node/run-folder';
import { listRunFolders, modelPickItems } from './run-folders';
import { readSettings, runsRoot } from './settings';
import { cliFailure, runCli } from './run-cli';
import { LABEL_VIEW_TYPE } from './labeling/label-editor';
import { activeReviewQueue, setReviewQueue } from './labeling/review-queue';
import { MIN_REVIEWED_FOR_SMOOTHING, flaggedQueue, smoothingText } from './labeling/review-estimate';

export const REVIEW_COMMAND = 'dpo.reviewSuspiciousPairs';

export interface ReviewArgs {
  /** A run's final/ or checkpoints/step-N folder. */
  modelDir?: string;
}

export interface ReviewResult {
  ok: boolean;
  error?: string;
  /** The triage file written. */
  path?: string;
  /** 1-based lines in queue order: the flagged pairs. */
  lines?: number[];
  /** Pairs scored, and whether any had a negative margin (else the queue holds the lowest margins). */
  scored?: number;
  flagged?: boolean;
}

function runDirOf(modelDir: string): string | undefined {
  const parent = path.dirname(modelDir);
  if (path.basename(modelDir) === RUN_FILES.final) return parent;
  if (path.basename(parent) === RUN_FILES.checkpoints) return path.dirname(parent);
  return undefined;
}

async function pickModel(): Promise<string | undefined> {
  const items = modelPickItems(listRunFolders(runsRoot(readSettings())).filter((r) => r.mode === 'dpo'));
  if (items.length === 0) {
    void vscode.window.showWarningMessage('DPO: no DPO run with a final model or checkpoint in the runs folder yet.');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'DPO: Review Suspicious Pairs', placeHolder: 'the tuned model whose disagreements to review' }))
    ?.dir;
}

async function runTriage(cliPath: string, args: string[], log: (l: string) => void): Promise<void> {
  const r = await runCli(cliPath, ['triage', ...args], (text) => log(text.trimEnd()));
  if (r.code !== 0) throw new Error(`dpo triage failed (exit ${r.code}): ${cliFailure(r).split('\n').pop()}`);
}

export async function reviewSuspiciousPairs(cliPath: string, log: (l: string) => void, args: ReviewArgs = {}): Promise<ReviewResult> {
  if (!vscode.workspace.isTrusted) return { ok: false, error: 'DPO: loading models is disabled in Restricted Mode; trust the workspace to review pairs.' };
  const modelDir = args.modelDir ?? (await pickModel());
  if (!modelDir) return { ok: false, error: 'cancelled' };
  const runDir = runDirOf(modelDir);
  const read = runDir ? readRunConfig(runDir) : undefined;
  if (!runDir || !read?.ok) return { ok: false, error: `${modelDir}: not a run's final/ or checkpoint folder${read && !read.ok ? ` (${read.error})` : ''}` };
  const dataFile = read.config.data;
  const out = path.join(runDir, `triage-${path.basename(modelDir)}.jsonl`);
  log(`triage of ${path.basename(runDir)} (${objectiveOf(read.config.loss_type).title}): ${scoreNote(read.config.loss_type)}`);
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `DPO: scoring the pairs of ${path.basename(dataFile)} under ${path.basename(runDir)}` },
      () => runTriage(cliPath, ['--model', modelDir, '--data', dataFile, '--out', out], log),
    );
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
    return { ok: false, error: (err as Error).message };
  }
  const queue = flaggedQueue(parseTriageRows(fs.readFileSync(out, 'utf8')));
  const uri = vscode.Uri.file(dataFile);
  const why = new Map(queue.rows.map((r) => [r.line - 1, { margin: r.margin, rank: r.rank }]));
  const lines = queue.rows.map((r) => r.line);
  log(
    queue.flagged
      ? `${lines.length} of ${queue.scored} pairs flagged: the tuned model scores them the other way (negative margin)`
      : `no pair has a negative margin: the tuned model agrees with every label; queued the ${lines.length} lowest margins`,
  );
  if (!queue.flagged)
    void vscode.window.showInformationMessage(
      `DPO: the tuned model agrees with every label of ${path.basename(dataFile)}; review the ${lines.length} pairs it is least sure of.`,
    );
  // A labeling editor already open on the file takes the queue (and shows itself); else the one opened here does.
  if (!setReviewQueue(uri, { lines: lines.map((l) => l - 1), total: queue.scored, runDir, why }))
    await vscode.commands.executeCommand('vscode.openWith', uri, LABEL_VIEW_TYPE);
  return { ok: true, path: out, lines, scored: queue.scored, flagged: queue.flagged };
}

/** The run config of the reviewed run with conservative DPO at the estimated remaining noise rate, opened. */
export async function writeNoiseAwareConfig(args: { file?: string } = {}): Promise<{ ok: boolean; error?: string; path?: string; labelSmoothing?: number }> {
  const queue = activeReviewQueue();
  const runDir = queue?.spec.runDir;
  const read = runDir ? readRunConfig(runDir) : undefined;
  if (!queue || !runDir || !read?.ok) return { ok: false, error: 'no review in progress (DPO: Review Suspicious Pairs)' };
  const s = queue.summary();
  if (s.labelSmoothing === undefined) {
    const error = `DPO: ${smoothingText(s, queue.spec.lines.length)} (${s.reviewed} of ${MIN_REVIEWED_FOR_SMOOTHING} so far).`;
    if (!args.file) void vscode.window.showInformationMessage(error);
    return { ok: false, error };
  }
  const config: Record<string, unknown> = JSON.parse(fs.readFileSync(runFile(runDir, 'config'), 'utf8'));
  delete config.output_dir;
  // label_smoothing is conservative DPO on the embedded engine's sigmoid loss (see the config schema).
  Object.assign(config, { engine: 'tfjs', label_smoothing: s.labelSmoothing });
  // A loss list keeps its sigmoid member (which label_smoothing applies to); anything else becomes sigmoid.
  if (!hasLossMember(config.loss_type as DpoConfig['loss_type'], 'sigmoid')) Object.assign(config, { loss_type: 'sigmoid', loss_weights: null });
  const file = args.file ?? path.join(path.dirname(read.config.data), `${path.basename(runDir)}-cdpo.config.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  if (!args.file) {
    await vscode.window.showTextDocument(vscode.Uri.file(file));
    void vscode.window.showInformationMessage(
      `DPO: ${s.flips} of ${s.reviewed} reviewed pairs flipped (95% interval ${Math.round(s.low * 100)}–${Math.round(s.high * 100)}%); at most ≈ ${(s.remainingRate * 100).toFixed(1)}% left mislabeled: run config with label_smoothing ${s.labelSmoothing} written (start it with DPO: Start Run From Config).`,
    );
  }
  return { ok: true, path: file, labelSmoothing: s.labelSmoothing };
}
