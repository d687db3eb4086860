// Which model folder `dpo serve` loads for a folder the user names: a model folder (full model or
// PEFT adapter) as is, a run folder's final/ (else its newest complete checkpoint), a checkpoint
// folder as is; and the engine a run folder's config.json names. It reads folders; it loads nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENGINE_NAMES, EngineName, RUN_FILES } from '../../protocol';
import { completeCheckpoints } from '../run-folder';

export interface ServedModel {
  /** The id clients send as `model`: the name of the folder the user gave. */
  id: string;
  /** The folder the engine loads (config.json or adapter_config.json, weights, tokenizer). */
  modelDir: string;
  /** The run folder it came from, when it came from one. */
  runDir?: string;
  /** The engine that run's config.json names, if any. */
  runEngine?: EngineName;
}

const isModelDir = (dir: string) => ['config.json', 'adapter_config.json'].some((f) => fs.existsSync(path.join(dir, f))) && !isRunDir(dir);
const isRunDir = (dir: string) => [RUN_FILES.metrics, RUN_FILES.checkpoints, RUN_FILES.final].some((f) => fs.existsSync(path.join(dir, f)));

function runEngine(runDir: string): EngineName | undefined {
  try {
    const engine = (JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as { engine?: unknown }).engine;
    return ENGINE_NAMES.includes(engine as EngineName) ? (engine as EngineName) : undefined;
  } catch {
    return undefined; // a run without a readable config: the --engine flag decides
  }
}

/** Throws a message that names the folder and what it lacks. */
export function resolveServedModel(dir: string): ServedModel {
  const abs = path.resolve(dir);
  const id = path.basename(abs);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory())
    throw new Error(`${abs}: no such folder; --model takes a model, adapter, run or checkpoint folder`);
  if (isRunDir(abs)) {
    const final = path.join(abs, RUN_FILES.final);
    const newest = completeCheckpoints(abs).at(-1);
    const modelDir = fs.existsSync(path.join(final, 'config.json')) || fs.existsSync(path.join(final, 'adapter_config.json')) ? final : newest?.dir;
    if (!modelDir) throw new Error(`${abs}: this run folder has no final/ model and no complete checkpoint yet; serve it once a checkpoint is written`);
    return { id, modelDir, runDir: abs, runEngine: runEngine(abs) };
  }
  if (isModelDir(abs)) {
    // A checkpoint (run/checkpoints/step-N) or a final/ model takes its run's engine.
    const parent = path.dirname(abs);
    const run = path.basename(parent) === RUN_FILES.checkpoints ? path.dirname(parent) : path.basename(abs) === RUN_FILES.final ? parent : undefined;
    const runDir = run && isRunDir(run) ? run : undefined;
    return { id, modelDir: abs, ...(runDir ? { runDir, runEngine: runEngine(runDir) } : {}) };
  }
  throw new Error(`${abs}: not a model folder (no config.json or adapter_config.json) and not a run folder (no metrics.jsonl, checkpoints/ or final/)`);
}
