// Where a run may be written: a folder that is new (absent or empty) or a run to resume, never a
// folder holding other files (a model folder, a project with its own config.json). An empty
// output_dir means `.dpo/runs/<mode>-<time>` beside the data file, never the engine's working folder.
// startDecision is the one rule for what a start or a resume does with a folder (test/conformance/resume).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES, TRAINER_STATE, timeStamp } from '../../protocol';
import { completeCheckpoints } from '../../node/run-folder';
import { LOCK_FILE } from './run-lock';

export class OutputDirError extends Error {}

/** The default run folder for a config without output_dir: `<data's folder>/.dpo/runs/<mode>-<time>`. */
export function withDefaultOutputDir(values: Record<string, unknown>, mode: string): Record<string, unknown> {
  if (typeof values.output_dir === 'string' && values.output_dir !== '') return values;
  if (typeof values.data !== 'string' || values.data === '') return values; // resolveConfig names the missing data
  return { ...values, output_dir: path.join(path.dirname(path.resolve(values.data)), '.dpo', 'runs', `${mode}-${timeStamp()}`) };
}

/** True when the folder holds a run config (what every run writes first, and what resume needs). */
export function looksLikeRun(dir: string): boolean {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.config), 'utf8')) as Record<string, unknown>;
    return typeof c.mode === 'string' && typeof c.output_dir === 'string'; // a resolved run config, not a model's config.json
  } catch {
    return false;
  }
}

/**
 * What a start killed before it wrote config.json leaves (either engine's): nothing to keep. The torch
 * engine stages HF's checkpoints in .hf-staging and writes config.json.tmp.
 */
function startLeftover(dir: string, e: string): boolean {
  if (e === LOCK_FILE || e === RUN_FILES.progress || e === '.hf-staging' || /^config\.json\.tmp(-\d+)?$/.test(e)) return true;
  return e === RUN_FILES.checkpoints && fs.readdirSync(path.join(dir, e)).length === 0;
}

/** Throws unless `dir` may hold a new run; writes nothing. */
export function checkNewRunDir(dir: string): void {
  let entries: string[];
  try {
    if (!fs.statSync(dir).isDirectory()) throw new OutputDirError(`${dir}: output_dir is a file, not a folder; choose a new folder for the run`);
    // A start killed before it wrote config.json leaves only these: nothing to keep.
    entries = fs.readdirSync(dir).filter((e) => !startLeftover(dir, e));
  } catch (err) {
    if (err instanceof OutputDirError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // new
    throw new OutputDirError(`${dir}: cannot use as output_dir (${code ?? (err as Error).message})`);
  }
  if (entries.length === 0) return;
  if (looksLikeRun(dir)) throw new OutputDirError(`${dir} already holds a run; resume it (dpo train --resume ${dir}) or choose another output folder`);
  const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? ', …' : '');
  throw new OutputDirError(
    `${dir} holds other files (${shown}): a run folder must be new or empty, so that nothing in it is overwritten; choose another --out / output_dir`,
  );
}

/**
 * Creates the run folder. Node reports a recursive mkdir on a read-only file system as ENOENT; this
 * names the folder that refused and why (read-only, no permission, disk full).
 */
export function createRunDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    let ancestor = path.dirname(dir);
    while (!fs.existsSync(ancestor) && path.dirname(ancestor) !== ancestor) ancestor = path.dirname(ancestor);
    let why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    try {
      fs.accessSync(ancestor, fs.constants.W_OK);
    } catch (e) {
      why =
        (e as NodeJS.ErrnoException).code === 'EROFS'
          ? `${ancestor} is on a read-only file system (EROFS)`
          : `${ancestor} is not writable (${(e as NodeJS.ErrnoException).code})`;
    }
    throw new OutputDirError(`${dir}: cannot create the run folder: ${why}; choose another --out / output_dir`);
  }
}

export type StartDecision =
  /** Continue from a complete checkpoint; records after `step` are dropped first. */
  | { action: 'resume'; step: number; dir: string }
  /** Resume asked, but the run was killed before its first complete checkpoint: start over from step 0 with its config. */
  | { action: 'restart'; message: string }
  /** A new run in a new or empty folder. */
  | { action: 'new' }
  | { action: 'refuse'; code: 'not-a-run' | 'finished' | 'holds-run' | 'other-files' | 'unusable'; message: string };

/**
 * What starting (`resume` false) or resuming a run in `dir` does; reads only. Partial checkpoints
 * (no trainer_state.json), staging folders and a half-written final.tmp are ignored.
 */
export function startDecision(dir: string, resume: boolean): StartDecision {
  if (!resume) {
    try {
      checkNewRunDir(dir);
      return { action: 'new' };
    } catch (err) {
      const message = (err as Error).message;
      const code = / already holds a run;/.test(message) ? 'holds-run' : / holds other files /.test(message) ? 'other-files' : 'unusable';
      return { action: 'refuse', code, message };
    }
  }
  if (!looksLikeRun(dir)) return { action: 'refuse', code: 'not-a-run', message: `${dir}: not a run folder (no readable ${RUN_FILES.config} of a run)` };
  const latest = completeCheckpoints(dir).pop();
  if (latest) return { action: 'resume', ...latest };
  if (fs.existsSync(path.join(dir, RUN_FILES.final)))
    return { action: 'refuse', code: 'finished', message: `${dir}: the run has finished (final/ exists) and kept no checkpoint to resume from` };
  return {
    action: 'restart',
    message: `resumed: no complete checkpoint in ${dir} (checkpoints/step-N with ${TRAINER_STATE}); restarting from step 0`,
  };
}
