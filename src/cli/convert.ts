// `dpo convert`: preference data from one format to another (src/protocol/preference-formats.ts).
// JSONL in any format the trainer reads; Parquet/Arrow files and Hugging Face `datasets` folders are
// first read to JSONL by the torch engine's environment (its pinned `datasets`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PreferenceFormat, fromTrlFields } from '../protocol';
import { readPreferenceFile } from '../engine/data/preferences';
import { writeFileAtomic } from '../node/fs-atomic';
import { torchEnvDir, torchPython } from '../node/torch-env';
import { runTorchModule } from './torch-engine';

export interface ConvertJob {
  input: string;
  output: string;
  to: PreferenceFormat;
  /** Split of a datasets folder. */
  split: string;
}

const isDatasetInput = (file: string) => /\.(parquet|arrow)$/i.test(file) || (fs.existsSync(file) && fs.statSync(file).isDirectory());

export function convertPreferences(job: ConvertJob): { written: number } {
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
    const { pairs } = readPreferenceFile(source);
    const text = pairs.map((p) => JSON.stringify(fromTrlFields(p, job.to))).join('\n');
    writeFileAtomic(job.output, text + (pairs.length ? '\n' : ''));
    return { written: pairs.length };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
