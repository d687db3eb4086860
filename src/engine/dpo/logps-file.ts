// `dpo logps`: every pair of a preference file scored under one model, one JSONL line per pair.
import * as fs from 'node:fs';
import { loadModel } from '../model/checkpoint';
import { loadTokenizer } from '../tokenizer/tokenizer';
import { badLineCount, readPreferenceFile } from '../data/preferences';
import { tokenizePairs } from '../data/tokenize';
import { PairScorer, scorePairs } from './score-pairs';

export interface LogpsJob {
  modelDir: string;
  dataFile: string;
  outFile: string;
  /** Default: the model's context length. */
  maxLength?: number;
  maxPromptLength?: number;
  batchSize: number;
  skipBadLines: boolean;
  /** Lines written shortest pair first, each with its `line` (the per-row scorer also batches in that order). */
  sortByLength?: boolean;
  /** How pairs are batched and scored (score-pairs.ts); default 'sequences'. */
  scorer?: PairScorer;
  /** Benchmarks only: score-pairs.ts's activationFloats. */
  activationFloats?: number;
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
    const longest = (p: (typeof tokenized.pairs)[number]) => p.promptIds.length + Math.max(p.chosenIds.length, p.rejectedIds.length);
    const pairs = job.sortByLength ? [...tokenized.pairs].sort((a, b) => longest(a) - longest(b)) : tokenized.pairs;
    const scores = await scorePairs(model, pairs, {
      batchSize: job.batchSize,
      padId,
      scorer: job.scorer,
      activationFloats: job.activationFloats,
      onProgress: job.onProgress,
    });
    const text = pairs.map((p, i) => {
      const row: LogpsLine = {
        line: p.line,
        chosen_logp: scores[i][0],
        rejected_logp: scores[i][1],
        chosen_tokens: p.chosenIds.length,
        rejected_tokens: p.rejectedIds.length,
      };
      return JSON.stringify(row) + '\n';
    });
    const tmp = `${job.outFile}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text.join(''));
    // Renamed into place only when complete: a killed run never leaves a short file that looks whole.
    fs.renameSync(tmp, job.outFile);
    return { written: tokenized.pairs.length, notes };
  } finally {
    model.dispose();
  }
}
