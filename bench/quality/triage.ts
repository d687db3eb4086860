// The triage benchmark on the quality task (a known true reward): label pairs by the true reward,
// flip a known share of them, DPO-train on the noisy file, run `dpo triage`, and measure how many
// of the flipped pairs the top of the queue holds; then relabel the flagged pairs to the true
// preference (what a reviewer would do), retrain, and compare the true reward of both policies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTinyModel } from '../../src/engine/model/tiny';
import { loadModel } from '../../src/engine/model/checkpoint';
import { loadTokenizer } from '../../src/engine/tokenizer/tokenizer';
import { Rng } from '../../src/engine/rng';
import { flaggedPrecisionRecall } from '../../src/protocol/triage-rank';
import { runTriage } from '../../src/cli/triage';
import { EvalOptions, PolicyResult, QualityOptions, evaluatePolicy, train } from './pipeline';
import { sampleReviews, trueReward } from './task';

export interface TriageBenchOptions extends Pick<QualityOptions, 'outDir' | 'backend' | 'model' | 'seed' | 'sftReviews' | 'sft' | 'dpo' | 'log'>, EvalOptions {
  /** Prompts to make pairs for (ties are dropped, so a few less). */
  pairPrompts: number;
  /** Share of the pairs whose label is flipped on purpose. */
  flipRate: number;
  /** Also score the per-epoch checkpoints (the score averages over them). */
  withCheckpoints: boolean;
  /** Also train on the clean labels, for the table. */
  clean: boolean;
}

interface Pair {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface TriageBenchResult {
  pairs: number;
  flipped: number;
  /** Top `flipRate` share of the queue. */
  flagged: number;
  precision: number;
  recall: number;
  /** The same with checkpoints averaged in, when measured. */
  withCheckpoints?: { precision: number; recall: number };
  /** Flagged pairs that were flipped and set right by the relabeling. */
  fixed: number;
  policies: (Pick<PolicyResult, 'name' | 'reward' | 'rewardSe' | 'kl' | 'klSe'> & { labelNoise: number })[];
  seconds: number;
}

const writeJsonl = (file: string, rows: object[]) => fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

/** Pairs of two grammar completions per prompt, chosen by the true reward (ties dropped). */
export function truePairs(count: number, seed: number): Pair[] {
  const prompts = sampleReviews(count, seed + 1).map((r) => r.prompt);
  const completions = sampleReviews(2 * count, seed + 3).map((r) => r.completion);
  const out: Pair[] = [];
  prompts.forEach((prompt, i) => {
    const [a, b] = [completions[2 * i], completions[2 * i + 1]];
    const [ra, rb] = [trueReward(a), trueReward(b)];
    if (ra !== rb) out.push({ prompt, chosen: ra > rb ? a : b, rejected: ra > rb ? b : a });
  });
  return out;
}

/** Flips exactly round(rate·n) labels, chosen by a seeded shuffle; returns their 1-based lines. */
export function flipKnown(pairs: Pair[], rate: number, seed: number): { noisy: Pair[]; flipped: Set<number> } {
  const rng = new Rng(seed);
  const order = pairs.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const flipped = new Set(order.slice(0, Math.round(rate * pairs.length)).map((i) => i + 1));
  const noisy = pairs.map((p, i) => (flipped.has(i + 1) ? { prompt: p.prompt, chosen: p.rejected, rejected: p.chosen } : p));
  return { noisy, flipped };
}

const labelNoise = (pairs: Pair[]) => pairs.filter((p) => trueReward(p.chosen) < trueReward(p.rejected)).length / pairs.length;

export async function runTriageBench(o: TriageBenchOptions): Promise<TriageBenchResult> {
  const started = Date.now();
  fs.mkdirSync(o.outDir, { recursive: true });
  const dir = (name: string) => path.join(o.outDir, name);
  makeTinyModel(dir('base-model'), o.model);
  writeJsonl(dir('sft.jsonl'), sampleReviews(o.sftReviews, o.seed));
  o.log(`SFT on ${o.sftReviews} reviews`);
  const sft = await train(o, { mode: 'sft', model: dir('base-model'), data: dir('sft.jsonl'), output_dir: dir('sft'), ...o.sft }, o.sftReviews);
  const sftDir = sft.epochDirs[sft.epochDirs.length - 1];

  const clean = truePairs(o.pairPrompts, o.seed);
  const { noisy, flipped } = flipKnown(clean, o.flipRate, o.seed + 5);
  writeJsonl(dir('noisy.jsonl'), noisy);
  o.log(`${clean.length} pairs, ${flipped.size} labels flipped on purpose`);
  const dpo = (data: string, name: string) =>
    train(o, { mode: 'dpo', model: sftDir, data, output_dir: dir(name), precompute_ref_log_probs: true, ...o.dpo }, clean.length);
  const noisyRun = await dpo(dir('noisy.jsonl'), 'dpo-noisy');
  const finalDir = noisyRun.epochDirs[noisyRun.epochDirs.length - 1];

  const triage = async (checkpointDirs: string[], out: string) =>
    (
      await runTriage({
        modelDir: finalDir,
        dataFile: dir('noisy.jsonl'),
        outFile: dir(out),
        checkpointDirs,
        engine: 'tfjs',
        batchSize: 16,
        log: () => undefined,
      })
    ).rows;
  const flaggedCount = Math.round(o.flipRate * clean.length);
  const rows = await triage([], 'triage.jsonl');
  const pr = flaggedPrecisionRecall(rows, flipped, flaggedCount);
  o.log(`triage (final model): top ${flaggedCount}: precision ${pr.precision.toFixed(3)}, recall ${pr.recall.toFixed(3)}`);
  let withCheckpoints: TriageBenchResult['withCheckpoints'];
  if (o.withCheckpoints) {
    const c = flaggedPrecisionRecall(await triage(noisyRun.epochDirs.slice(0, -1), 'triage-checkpoints.jsonl'), flipped, flaggedCount);
    withCheckpoints = { precision: c.precision, recall: c.recall };
    o.log(`triage (final + ${noisyRun.epochDirs.length - 1} checkpoints): precision ${c.precision.toFixed(3)}, recall ${c.recall.toFixed(3)}`);
  }

  // The reviewer sets each flagged pair to its true preference; unflagged pairs keep their label.
  const flagged = new Set(rows.slice(0, flaggedCount).map((r) => r.line));
  const relabeled = noisy.map((p, i) => (flagged.has(i + 1) ? clean[i] : p));
  writeJsonl(dir('relabeled.jsonl'), relabeled);
  const relabeledRun = await dpo(dir('relabeled.jsonl'), 'dpo-relabeled');

  const tok = loadTokenizer(sftDir);
  const { model: reference } = loadModel(sftDir);
  const policies: TriageBenchResult['policies'] = [];
  try {
    const measure = async (name: string, policyDir: string, pairs: Pair[]) => {
      const r = await evaluatePolicy(o, policyDir, reference, tok);
      policies.push({ name, reward: r.reward, rewardSe: r.rewardSe, kl: r.kl, klSe: r.klSe, labelNoise: labelNoise(pairs) });
      o.log(`  ${name}: true reward ${r.reward.toFixed(3)} ± ${r.rewardSe.toFixed(3)}, KL ${r.kl.toFixed(3)}`);
    };
    await measure('SFT', sftDir, clean);
    await measure('DPO, noisy labels', finalDir, noisy);
    await measure('DPO, flagged pairs relabeled', relabeledRun.epochDirs[relabeledRun.epochDirs.length - 1], relabeled);
    if (o.clean) {
      writeJsonl(dir('clean.jsonl'), clean);
      const cleanRun = await dpo(dir('clean.jsonl'), 'dpo-clean');
      await measure('DPO, clean labels', cleanRun.epochDirs[cleanRun.epochDirs.length - 1], clean);
    }
  } finally {
    reference.dispose();
  }
  const fixed = [...flagged].filter((l) => flipped.has(l)).length;
  return {
    pairs: clean.length,
    flipped: flipped.size,
    flagged: flaggedCount,
    precision: pr.precision,
    recall: pr.recall,
    withCheckpoints,
    fixed,
    policies,
    seconds: (Date.now() - started) / 1000,
  };
}
