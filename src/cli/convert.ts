// `dpo convert`: preference data from one format to another (src/protocol/preference-formats.ts).
// JSONL in any format the trainer reads; Parquet/Arrow files and Hugging Face `datasets` folders are
// first read to JSONL by the torch engine's environment (its pinned `datasets`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PreferenceFormat, fromTrlFields, pairUp, unpairPairs } from '../protocol';
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
}

export const UNPAIRED_TARGETS = ['unpaired', 'paired'] as const;
export type ConvertTarget = PreferenceFormat | (typeof UNPAIRED_TARGETS)[number];

const isDatasetInput = (file: string) => /\.(parquet|arrow)$/i.test(file) || (fs.existsSync(file) && fs.statSync(file).isDirectory());

/** `written`: lines (pairs, or unpaired lines) written; `unmatched`: for "paired", the input lines left without a partner. */
export function convertPreferences(job: ConvertJob): { written: number; unmatched?: number[] } {
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
  try {
    const write = (rows: unknown[]) => writeFileAtomic(job.output, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    if (job.to === 'paired') {
      // A paired input passes through (unpaired and paired up again: the same pairs).
      const { pairs, unmatched } = pairUp(readUnpairedFile(source).lines);
      write(pairs.map((p) => fromTrlFields(p, 'trl')));
      return { written: pairs.length, unmatched };
    }
    const { pairs } = readPreferenceFile(source);
    if (job.to === 'unpaired') {
      const lines = unpairPairs(pairs);
      write(lines.map((l) => ({ prompt: l.prompt, completion: l.completion, label: l.label })));
      return { written: lines.length };
    }
    write(pairs.map((p) => fromTrlFields(p, job.to as PreferenceFormat)));
    return { written: pairs.length };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
