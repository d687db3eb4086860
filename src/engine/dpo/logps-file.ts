// `dpo logps`: every pair of a preference file scored under one model, one JSONL line per pair.
import * as fs from 'node:fs';
import { loadModel } from '../model/checkpoint';
import { loadTokenizer } from '../tokenizer/tokenizer';
import { badLineCount, readPreferenceFile } from '../data/preferences';
import { tokenizePairs } from '../data/tokenize';
import { collatePairs } from '../data/batch';
import { computeSequenceLogps } from './logps';

export interface LogpsJob {
  modelDir: string;
  dataFile: string;
  outFile: string;
  /** Default: the model's context length. */
  maxLength?: number;
  maxPromptLength?: number;
  batchSize: number;
  skipBadLines: boolean;
  /** Batch pairs of similar length (less padding; lines are written in that order, each with its `line`). */
  sortByLength?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface LogpsLine {
  line: number;
  chosen_logp: number;
  rejected_logp: number;
  chosen_tokens: number;
  rejected_tokens: number;
}

export async function writeLogps(job: LogpsJob): Promise<{ written: number; notes: string[] }> {
  const tokenizer = loadTokenizer(job.modelDir);
  const data = readPreferenceFile(job.dataFile, { skipBadLines: job.skipBadLines });
  const { model, warnings } = loadModel(job.modelDir, { trainable: false });
  const notes = [...warnings];
  try {
    const maxLength = Math.min(job.maxLength ?? model.config.maxPositions, model.config.maxPositions);
    if (job.maxLength !== undefined && job.maxLength > model.config.maxPositions) {
      notes.push(`--max-length ${job.maxLength} exceeds the model's ${model.config.maxPositions} positions; using ${maxLength}`);
    }
    const tokenized = tokenizePairs(tokenizer, data.pairs, { maxLength, maxPromptLength: job.maxPromptLength });
    if (data.problems.length > 0) notes.push(`skipped ${badLineCount(data.problems)} unusable line(s) (--skip-bad-lines)`);
    if (tokenized.dropped.length > 0) {
      notes.push(
        `dropped ${tokenized.dropped.length} pair(s) whose prompt alone fills max_length ${maxLength} (lines ${tokenized.dropped
          .slice(0, 10)
          .map((d) => d.line)
          .join(', ')}${tokenized.dropped.length > 10 ? ', …' : ''})`,
      );
    }
    if (tokenized.promptMismatches.length > 0) {
      notes.push(
        `${tokenized.promptMismatches.length} pair(s) whose prompt tokens are not the start of prompt+response's (TRL warns "Mismatch between tokenized prompt…"; kept as TRL keeps them), e.g. line ${tokenized.promptMismatches[0]}`,
      );
    }
    if (tokenized.truncatedCount > 0) notes.push(`truncated ${tokenized.truncatedCount} pair(s) to max_length ${maxLength}`);
    const padId = tokenizer.padId ?? 0;
    const tmp = `${job.outFile}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      const longest = (p: (typeof tokenized.pairs)[number]) => p.promptIds.length + Math.max(p.chosenIds.length, p.rejectedIds.length);
      const pairs = job.sortByLength ? [...tokenized.pairs].sort((a, b) => longest(a) - longest(b)) : tokenized.pairs;
      for (let start = 0; start < pairs.length; start += job.batchSize) {
        const chunk = pairs.slice(start, start + job.batchSize);
        const batch = collatePairs(chunk, padId);
        const logps = await computeSequenceLogps(model, batch);
        const n = chunk.length;
        let text = '';
        chunk.forEach((p, i) => {
          const row: LogpsLine = {
            line: p.line,
            chosen_logp: logps[i],
            rejected_logp: logps[n + i],
            chosen_tokens: p.chosenIds.length,
            rejected_tokens: p.rejectedIds.length,
          };
          text += JSON.stringify(row) + '\n';
        });
        fs.writeSync(fd, text);
        job.onProgress?.(Math.min(start + job.batchSize, pairs.length), pairs.length);
      }
    } finally {
      fs.closeSync(fd);
    }
    // Renamed into place only when complete: a killed run never leaves a short file that looks whole.
    fs.renameSync(tmp, job.outFile);
    return { written: tokenized.pairs.length, notes };
  } finally {
    model.dispose();
  }
}
