// `dpo convert`: preference data from one format to another (src/protocol/preference-formats.ts).
// JSONL in any format the trainer reads; Parquet/Arrow files and Hugging Face `datasets` folders are
// first read to JSONL by the torch engine's environment (its pinned `datasets`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataProblem, PreferenceFormat, fromTrlFields, pairUp, unpairPairs } from '../protocol';
import { readPreferenceFile } from '../engine/data/preferences';
import { readUnpairedFile } from '../engine/data/unpaired';
import { writeFileAtomic } from '../node/fs-atomic';
import { torchEnvDir, torchPython } from '../node/torch-env';
import { runTorchModule } from './torch-engine';

export interface ConvertJob {
  input: string;
  output: string;
  /** A pair format, or TRL's unpaired lines ("unpaired", KTO's data) and back ("paired", as TRL's format). */
  to: ConvertTarget;
  /** Split of a datasets folder. */
  split: string;
  /** Convert the usable lines and list the others (returned in `skipped`) instead of stopping. */
  skipBadLines?: boolean;
}

export const UNPAIRED_TARGETS = ['unpaired', 'paired'] as const;
export type ConvertTarget = PreferenceFormat | (typeof UNPAIRED_TARGETS)[number];

const isDatasetInput = (file: string) => /\.(parquet|arrow)$/i.test(file) || (fs.existsSync(file) && fs.statSync(file).isDirectory());

export interface Conversion {
  /** Lines (pairs, or unpaired lines) written. */
  written: number;
  /** For "paired": the input lines left without a partner. */
  unmatched?: number[];
  /** With skipBadLines: the unusable lines left out, with their file, line and field. */
  skipped?: DataProblem[];
}

export function convertPreferences(job: ConvertJob): Conversion {
  let source = job.input;
  let tmp: string | undefined;
  if (isDatasetInput(job.input)) {
    if (!fs.existsSync(torchPython())) {
      throw new Error(
        `${job.input}: Parquet/Arrow files and datasets folders are read with the torch engine's environment (${torchEnvDir()}), which is not set up; run: npx dpo setup-torch (or export the data as JSONL)`,
      );
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-convert-'));
    source = path.join(tmp, 'rows.jsonl');
    runTorchModule('dpo_studio.to_jsonl', [job.input, source, '--split', job.split]);
  }
  const options = { skipBadLines: job.skipBadLines };
  // Without skipBadLines a bad line throws (DataError), so `problems` is empty and not reported.
  const skipped = (problems: DataProblem[]) => (problems.length ? { skipped: problems } : {});
  try {
    const write = (rows: unknown[]) => writeFileAtomic(job.output, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    if (job.to === 'paired') {
      // A paired input passes through (unpaired and paired up again: the same pairs).
      const read = readUnpairedFile(source, options);
      const { pairs, unmatched } = pairUp(read.lines);
      write(pairs.map((p) => fromTrlFields(p, 'trl')));
      return { written: pairs.length, unmatched, ...skipped(read.problems) };
    }
    const read = readPreferenceFile(source, options);
    if (job.to === 'unpaired') {
      const lines = unpairPairs(read.pairs);
      write(lines.map((l) => ({ prompt: l.prompt, completion: l.completion, label: l.label })));
      return { written: lines.length, ...skipped(read.problems) };
    }
    write(read.pairs.map((p) => fromTrlFields(p, job.to as PreferenceFormat)));
    return { written: read.pairs.length, ...skipped(read.problems) };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
