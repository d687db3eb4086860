// `dpo triage`: score every pair under a tuned model (and optionally its checkpoints) against the
// reference, and write the pairs most likely mislabeled first (the rule: src/engine/triage/rank.ts).
// Log-probs come from `dpo logps` on either engine, so the ranking is the same code for both.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineName, RUN_FILES } from '../protocol';
import { writeLogps } from '../engine/dpo/logps-file';
import { implicitMargins, readLogpsFile } from '../engine/triage/margins';
import { ModelMargins, TriageRow, rankPairs } from '../protocol/triage-rank';
import { writeFileAtomic } from '../node/fs-atomic';
import { readRunConfig } from '../node/run-folder';
import { runTorchModule } from './torch-engine';

export interface TriageJob {
  modelDir: string;
  /** Default: the reference of the run the model belongs to (final/ or checkpoints/step-N of a run). */
  referenceDir?: string;
  dataFile: string;
  outFile: string;
  /** Default: the run's β, else 0.1. */
  beta?: number;
  checkpointDirs: string[];
  engine: EngineName;
  maxLength?: number;
  batchSize: number;
  /**
   * Threads for the log-probs: the torch engine's (OMP_NUM_THREADS for its process); the embedded
   * engine's are set when its backend is selected (selectBackend), before this runs. 0 or absent: every core.
   */
  threads?: number;
  log: (line: string) => void;
}

/** The run folder a model folder belongs to: `<run>/final` or `<run>/checkpoints/step-N`. */
export function runOfModel(modelDir: string): string | undefined {
  const parent = path.dirname(path.resolve(modelDir));
  if (path.basename(modelDir) === RUN_FILES.final) return parent;
  if (path.basename(parent) === RUN_FILES.checkpoints) return path.dirname(parent);
  return undefined;
}

/** The reference and β a run used, when the model is one of a run's. */
function runDefaults(modelDir: string): { reference?: string; beta?: number } {
  const run = runOfModel(modelDir);
  if (!run) return {};
  const r = readRunConfig(run);
  if (!r.ok) return {};
  return { reference: r.config.reference_model ?? r.config.model, beta: r.config.beta };
}

async function logpsOf(job: TriageJob, modelDir: string, tmp: string, name: string): Promise<ReturnType<typeof readLogpsFile>> {
  const out = path.join(tmp, `${name}.jsonl`);
  if (job.engine === 'torch') {
    const args = ['--model', modelDir, '--data', job.dataFile, '--out', out];
    if (job.maxLength) args.push('--max-length', String(job.maxLength));
    runTorchModule('dpo_studio.logps', args, job.threads ? { OMP_NUM_THREADS: String(job.threads) } : {});
  } else {
    // Pairs of similar length share a batch: padding is most of a batch's cost on a small model.
    const r = await writeLogps({
      modelDir,
      dataFile: job.dataFile,
      outFile: out,
      maxLength: job.maxLength,
      batchSize: job.batchSize,
      skipBadLines: false,
      sortByLength: true,
    });
    for (const n of r.notes) job.log(`${name}: ${n}`);
  }
  return readLogpsFile(out);
}

export async function runTriage(job: TriageJob): Promise<{ rows: TriageRow[]; referenceDir: string; beta: number }> {
  const defaults = runDefaults(job.modelDir);
  const referenceDir = job.referenceDir ?? defaults.reference;
  if (!referenceDir) throw new Error(`${job.modelDir} is not a run's final/ or checkpoint folder, so its reference is unknown: pass --reference DIR`);
  const beta = job.beta ?? defaults.beta ?? 0.1;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-triage-'));
  try {
    job.log(`reference ${referenceDir}, β ${beta}`);
    const reference = await logpsOf(job, referenceDir, tmp, 'reference');
    const models: ModelMargins[] = [];
    for (const [i, dir] of [job.modelDir, ...job.checkpointDirs].entries()) {
      job.log(`scoring ${dir}`);
      models.push({ model: path.basename(dir), margins: implicitMargins(await logpsOf(job, dir, tmp, `model-${i}`), reference, beta) });
    }
    const rows = rankPairs(models);
    writeFileAtomic(job.outFile, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
    return { rows, referenceDir, beta };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
