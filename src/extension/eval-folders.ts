// Evaluation folders on disk, as the Evaluate panel and "DPO: Evaluate Model" see them: where a run's
// evaluations live (`<run>/eval/<name>/`), reading summary.json and results.jsonl (a minimal reading
// until the contract's own parse guards exist; each problem names the file, line and field), and
// answers paired by prompt and sample. Plain Node (no vscode), so it is unit-tested.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  EVAL_FILES,
  EvalPairView,
  EvalSummary,
  EvaluationView,
  RUN_EVAL_DIR,
  RUN_FILES,
  isEvalSummaryShape,
  parseEvalResultLine,
  parseEvalSummary,
  parseLines,
} from '../protocol';

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

/** The evaluation folder of a run's model: `final/` → `<run>/eval/final`, `checkpoints/step-N/` → `<run>/eval/checkpoint-N`. */
export function runEvalDir(modelDir: string): { runDir: string; name: string; step?: number } | undefined {
  const dir = path.resolve(modelDir);
  const parent = path.dirname(dir);
  if (path.basename(dir) === RUN_FILES.final && fs.existsSync(path.join(parent, RUN_FILES.config))) return { runDir: parent, name: 'final' };
  const m = /^step-(\d+)$/.exec(path.basename(dir));
  const run = path.dirname(parent);
  if (m && path.basename(parent) === RUN_FILES.checkpoints && fs.existsSync(path.join(run, RUN_FILES.config)))
    return { runDir: run, name: `checkpoint-${m[1]}`, step: Number(m[1]) };
  return undefined;
}

/**
 * The model folder an evaluation's policy is, for the probe: summary.json may name a run folder (its
 * final model, or the checkpoint of `step`) rather than the model folder itself.
 */
export function policyModelDir(summary: Pick<EvalSummary, 'policy' | 'step'>): string {
  const dir = summary.policy;
  if (!fs.existsSync(path.join(dir, RUN_FILES.metrics))) return dir;
  const checkpoint = path.join(dir, RUN_FILES.checkpoints, `step-${summary.step}`);
  return summary.step !== undefined && fs.existsSync(checkpoint) ? checkpoint : path.join(dir, RUN_FILES.final);
}

export function readEvalSummary(dir: string): Read<EvalSummary> {
  const file = path.join(dir, EVAL_FILES.summary);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return { ok: false, error: `${file}: ${(err as Error).message}` };
  }
  // The contract's guard first (it names the bad field), then the shape the panel's messages require.
  const parsed = parseEvalSummary(raw);
  if (!parsed.ok || !isEvalSummaryShape(parsed.value))
    return {
      ok: false,
      error: `${file}: not a version 1 evaluation summary (${parsed.ok ? 'a judge without win_rate_ci, or models without mean_length' : parsed.error}); re-run DPO: Evaluate Model`,
    };
  return { ok: true, value: parsed.value };
}

/** The panel's view of one evaluation folder. */
export function evaluationView(dir: string, runDir?: string): Read<EvaluationView> {
  const read = readEvalSummary(dir);
  if (!read.ok) return read;
  const name = path.basename(dir);
  const m = /^checkpoint-(\d+)$/.exec(name);
  const step = read.value.step ?? (m ? Number(m[1]) : undefined);
  return { ok: true, value: { dir, series: path.basename(runDir ?? dir), runDir, name, step, summary: read.value } };
}

/** Evaluations of these runs (`<run>/eval/*` with a summary.json) and these other folders; unreadable ones as problems. */
export function listEvaluations(runDirs: string[], extraFolders: string[]): { evaluations: EvaluationView[]; problems: string[] } {
  const evaluations: EvaluationView[] = [];
  const problems: string[] = [];
  const take = (dir: string, runDir?: string) => {
    const v = evaluationView(dir, runDir);
    if (v.ok) evaluations.push(v.value);
    else problems.push(v.error);
  };
  for (const runDir of runDirs) {
    const root = path.join(runDir, RUN_EVAL_DIR);
    if (!fs.existsSync(root)) continue;
    for (const e of fs.readdirSync(root, { withFileTypes: true }))
      if (e.isDirectory() && fs.existsSync(path.join(root, e.name, EVAL_FILES.summary))) take(path.join(root, e.name), runDir);
  }
  for (const dir of extraFolders) {
    if (evaluations.some((e) => e.dir === dir)) continue;
    if (fs.existsSync(path.join(dir, EVAL_FILES.summary))) take(dir, runEvalDirOf(dir));
    else problems.push(`${dir}: no ${EVAL_FILES.summary} (not an evaluation folder, or its evaluation has not finished)`);
  }
  return { evaluations, problems };
}

/**
 * A fingerprint of every summary.json under `runsRoot/<run>/eval/*` and in `folders` (path and
 * modification time): cheap to take every few seconds, it changes when an evaluation finishes or is re-run.
 */
export function summariesFingerprint(runsRoot: string | undefined, folders: string[]): string {
  const files: string[] = folders.map((f) => path.join(f, EVAL_FILES.summary));
  const list = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
  if (runsRoot)
    for (const run of list(runsRoot))
      for (const e of list(path.join(runsRoot, run, RUN_EVAL_DIR))) files.push(path.join(runsRoot, run, RUN_EVAL_DIR, e, EVAL_FILES.summary));
  return files
    .map((f) => {
      try {
        return `${f}@${fs.statSync(f).mtimeMs}`;
      } catch {
        return '';
      }
    })
    .filter(Boolean)
    .sort()
    .join('\n');
}

/** The run a folder `<run>/eval/<name>` belongs to, if it is one. */
function runEvalDirOf(dir: string): string | undefined {
  const run = path.dirname(path.dirname(dir));
  return path.basename(path.dirname(dir)) === RUN_EVAL_DIR && fs.existsSync(path.join(run, RUN_FILES.config)) ? run : undefined;
}

/** The answers of an evaluation paired by prompt and sample, in prompt order (the first `limit`), and the problems found. */
export function readEvalPairs(dir: string, limit = 500): { pairs: EvalPairView[]; total: number; problems: string[] } {
  const file = path.join(dir, EVAL_FILES.results);
  if (!fs.existsSync(file)) return { pairs: [], total: 0, problems: [`${file}: missing`] };
  const parsed = parseLines(fs.readFileSync(file, 'utf8'), parseEvalResultLine, true);
  const byKey = new Map<string, EvalPairView>();
  for (const line of parsed.records) {
    const key = `${line.prompt_index}:${line.sample}`;
    let p = byKey.get(key);
    if (!p) byKey.set(key, (p = { promptIndex: line.prompt_index, sample: line.sample, prompt: line.prompt }));
    p[line.model] = line;
  }
  const all = [...byKey.values()].sort((a, b) => a.promptIndex - b.promptIndex || a.sample - b.sample);
  return { pairs: all.slice(0, limit), total: all.length, problems: parsed.problems.map((p) => `${file}:${p.line}: ${p.error}`) };
}

/** A preference line in the labeling editor's format: better answer chosen, worse rejected. */
export type PreferencePair =
  | { prompt: string; chosen: string; rejected: string }
  | { prompt: { role: string; content: string }[]; chosen: { role: string; content: string }[]; rejected: { role: string; content: string }[] };

/** The pair one judge's verdict makes of a prompt's two answers; a tie (or no verdict) is refused with the reason. */
export function pairFromVerdict(pair: EvalPairView, judge: string): Read<PreferencePair> {
  const { policy, reference } = pair;
  const where = `prompt ${pair.promptIndex + 1}, sample ${pair.sample + 1}`;
  if (!policy || !reference) return { ok: false, error: `${where} has no ${policy ? 'reference' : 'policy'} answer to compare with` };
  const verdict = policy.verdicts?.[judge]?.verdict;
  if (!verdict) return { ok: false, error: `judge ${judge} gave no verdict on ${where}` };
  if (verdict === 'tie') return { ok: false, error: `judge ${judge} called ${where} a tie, so neither answer is the better one: no pair was added` };
  const [better, worse] = verdict === 'win' ? [policy.text, reference.text] : [reference.text, policy.text];
  // A conversation stays one (the conversational format): the answers become assistant turns.
  if (policy.messages?.length)
    return {
      ok: true,
      value: { prompt: policy.messages, chosen: [{ role: 'assistant', content: better }], rejected: [{ role: 'assistant', content: worse }] },
    };
  return { ok: true, value: { prompt: pair.prompt, chosen: better, rejected: worse } };
}
