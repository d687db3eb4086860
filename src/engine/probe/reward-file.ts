// `dpo reward`: the implicit reward of both responses of every pair under a tuned model and its
// reference, the margin, and DPO's preference probability σ(margin); one JSONL line per pair.
import { loadModel } from '../model/checkpoint';
import { loadTokenizer } from '../tokenizer/tokenizer';
import { badLineCount, readPreferenceFile } from '../data/preferences';
import { tokenizePairs } from '../data/tokenize';
import { collatePairs } from '../data/batch';
import { computeSequenceLogps } from '../dpo/logps';
import { implicitReward } from '../dpo/implicit-reward';
import { preferenceProbability } from './reward';
import { writeFileAtomic } from '../../node/fs-atomic';

export interface RewardJob {
  modelDir: string;
  refDir: string;
  dataFile: string;
  outFile?: string;
  beta: number;
  maxLength?: number;
  batchSize: number;
  skipBadLines: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface RewardLine {
  line: number;
  chosen_reward: number;
  rejected_reward: number;
  margin: number;
  preference_probability: number;
}

export async function pairRewards(job: RewardJob): Promise<{ rows: RewardLine[]; accuracy: number; meanMargin: number; notes: string[] }> {
  const tokenizer = loadTokenizer(job.modelDir);
  const data = readPreferenceFile(job.dataFile, { skipBadLines: job.skipBadLines });
  const notes: string[] = [];
  if (data.problems.length) notes.push(`skipped ${badLineCount(data.problems)} unusable line(s) (--skip-bad-lines)`);
  const policy = loadModel(job.modelDir, { trainable: false }).model;
  const reference = loadModel(job.refDir, { trainable: false }).model;
  try {
    const maxLength = Math.min(job.maxLength ?? policy.config.maxPositions, policy.config.maxPositions, reference.config.maxPositions);
    const tokenized = tokenizePairs(tokenizer, data.pairs, { maxLength });
    if (tokenized.dropped.length) notes.push(`dropped ${tokenized.dropped.length} pair(s) whose prompt alone fills max_length ${maxLength}`);
    const rows: RewardLine[] = [];
    const padId = tokenizer.padId ?? 0;
    for (let i = 0; i < tokenized.pairs.length; i += job.batchSize) {
      const chunk = tokenized.pairs.slice(i, i + job.batchSize);
      const batch = collatePairs(chunk, padId);
      const p = await computeSequenceLogps(policy, batch);
      const r = await computeSequenceLogps(reference, batch);
      const n = chunk.length;
      chunk.forEach((pair, j) => {
        const chosen = implicitReward(p[j], r[j], job.beta);
        const rejected = implicitReward(p[n + j], r[n + j], job.beta);
        rows.push({
          line: pair.line,
          chosen_reward: chosen,
          rejected_reward: rejected,
          margin: chosen - rejected,
          preference_probability: preferenceProbability(chosen - rejected),
        });
      });
      job.onProgress?.(Math.min(i + job.batchSize, tokenized.pairs.length), tokenized.pairs.length);
    }
    if (job.outFile) writeFileAtomic(job.outFile, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
    const accuracy = rows.filter((r) => r.margin > 0).length / Math.max(1, rows.length);
    const meanMargin = rows.reduce((a, r) => a + r.margin, 0) / Math.max(1, rows.length);
    return { rows, accuracy, meanMargin, notes };
  } finally {
    policy.dispose();
    reference.dispose();
  }
}
