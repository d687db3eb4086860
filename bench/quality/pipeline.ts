// The paper's controlled sentiment experiment, small: SFT a tiny model on reviews, sample pairs from
// it, label them with the Bradley–Terry probability of the true reward, then tune with DPO at
// several β and with preferred-FT (SFT on the chosen responses), and measure each model's mean true
// reward and its sequence-level KL to the SFT reference on completions of held-out prompts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendReport, resolveConfig } from '../../src/protocol';
import { makeTinyModel, TinyModelOptions } from '../../src/engine/model/tiny';
import { loadModel } from '../../src/engine/model/checkpoint';
import { CausalLM } from '../../src/engine/model/transformer';
import { TextTokenizer, loadTokenizer } from '../../src/engine/tokenizer/tokenizer';
import { Trainer } from '../../src/engine/train/trainer';
import { completeCheckpoints } from '../../src/node/run-folder';
import { collate } from '../../src/engine/data/batch';
import { computeSequenceLogps } from '../../src/engine/dpo/logps';
import { sampleCompletions } from '../../src/engine/probe/sample-batch';
import { Rng } from '../../src/engine/rng';
import { preferenceProbability } from '../../src/engine/probe/reward';
import { sampleReviews, trueReward } from './task';

export interface QualityOptions {
  outDir: string;
  backend: BackendReport;
  model: TinyModelOptions;
  seed: number;
  /** Reviews the SFT model is trained on. */
  sftReviews: number;
  sft: Record<string, unknown>;
  /** Prompts sampled twice from the SFT model to make preference pairs. */
  pairPrompts: number;
  dpo: Record<string, unknown>;
  betas: number[];
  /** preferred-FT: SFT on the chosen responses, from the SFT model. */
  preferredFt: Record<string, unknown>;
  evalPrompts: number;
  samplesPerPrompt: number;
  maxNewTokens: number;
  log: (line: string) => void;
}

export interface PairStats {
  written: number;
  /** Prompts whose two samples were identical, empty or did not end: no pair. */
  skipped: number;
  /** Pairs whose chosen response has the lower true reward (label noise from Bradley–Terry). */
  flipped: number;
  /** Pairs whose two responses have the same true reward. */
  tied: number;
}

export interface PolicyResult {
  /** 'SFT', 'DPO' or 'preferred-FT'. */
  method: string;
  name: string;
  beta?: number;
  /** Epochs trained when this point was measured (checkpoints at each epoch's end). */
  epoch: number;
  /** Mean true reward of the samples, and its standard error. */
  reward: number;
  rewardSe: number;
  /** Mean of log πθ(y|x) − log πref(y|x) over samples y ~ πθ: the sequence-level KL estimate. */
  kl: number;
  klSe: number;
  /** Mean response length in tokens, and the share of samples that ended (EOS) in time. */
  tokens: number;
  finished: number;
  trainSeconds: number;
}

export interface QualityResult {
  pairs: PairStats;
  policies: PolicyResult[];
  seconds: number;
}

const meanSe = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean: m, se: Math.sqrt(v / xs.length) };
};

const writeJsonl = (file: string, rows: object[]) => fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

/** Trains; returns the model folder at the end of each epoch (checkpoints, then final). */
/** What training and evaluation read of the options (the triage benchmark reuses both). */
export type TrainOptions = Pick<QualityOptions, 'seed' | 'backend'>;
export type EvalOptions = Pick<QualityOptions, 'seed' | 'evalPrompts' | 'samplesPerPrompt' | 'maxNewTokens'>;

export async function train(o: TrainOptions, values: Record<string, unknown>, examples: number): Promise<{ epochDirs: string[]; seconds: number }> {
  const started = Date.now();
  const raw: Record<string, unknown> = {
    seed: o.seed,
    max_length: 64,
    eval_fraction: 0,
    eval_steps: 100000,
    logging_steps: 10,
    save_total_limit: null,
    ...values,
  };
  const stepsPerEpoch = Math.ceil(examples / Number(raw.batch_size ?? 8));
  const config = resolveConfig({ ...raw, save_steps: stepsPerEpoch }, 'quality bench');
  const result = await Trainer.create(config, { backend: o.backend }).run();
  if (result.reason !== 'completed' || !result.finalDir) throw new Error(`${config.output_dir}: run ended with ${result.reason}`);
  const checkpoints = completeCheckpoints(config.output_dir).filter((c) => c.step % stepsPerEpoch === 0);
  return { epochDirs: [...checkpoints.map((c) => c.dir), result.finalDir], seconds: (Date.now() - started) / 1000 };
}

function withModel<T>(dir: string, use: (model: CausalLM) => Promise<T>): Promise<T> {
  const { model } = loadModel(dir);
  return use(model).finally(() => model.dispose());
}

const sampling = (o: Pick<QualityOptions, 'maxNewTokens'>, seed: number) => ({ temperature: 1, topK: 0, topP: 1, maxNewTokens: o.maxNewTokens, seed });

/** Two samples per prompt from the SFT model, labeled by a Bradley–Terry draw on the true reward. */
export async function samplePairs(o: QualityOptions, sft: CausalLM, tok: TextTokenizer, file: string): Promise<PairStats> {
  const rng = new Rng(o.seed + 11);
  const stats: PairStats = { written: 0, skipped: 0, flipped: 0, tied: 0 };
  const rows: object[] = [];
  const prompts = sampleReviews(o.pairPrompts, o.seed + 1).map((r) => r.prompt);
  for (let i = 0; i < prompts.length; i++) {
    const [a, b] = await sampleCompletions(sft, tok, tok.encode(prompts[i], true), 2, sampling(o, o.seed * 7919 + i));
    if (!a.finished || !b.finished || a.text === b.text || !a.text.trim() || !b.text.trim()) {
      stats.skipped++;
      continue;
    }
    const [ra, rb] = [trueReward(a.text), trueReward(b.text)];
    const aWins = rng.next() < preferenceProbability(ra - rb); // Bradley–Terry: σ(r(a) − r(b))
    const [chosen, rejected] = aWins ? [a, b] : [b, a];
    const [rc, rr] = aWins ? [ra, rb] : [rb, ra];
    if (rc < rr) stats.flipped++;
    if (rc === rr) stats.tied++;
    rows.push({ prompt: prompts[i], chosen: chosen.text, rejected: rejected.text });
    if ((i + 1) % 100 === 0) o.log(`  sampled ${i + 1}/${prompts.length} prompts`);
  }
  writeJsonl(file, rows);
  stats.written = rows.length;
  return stats;
}

/** Mean true reward and KL to the reference of samples from `policyDir` on held-out prompts. */
export async function evaluatePolicy(
  o: EvalOptions,
  policyDir: string,
  reference: CausalLM,
  tok: TextTokenizer,
): Promise<Pick<PolicyResult, 'reward' | 'rewardSe' | 'kl' | 'klSe' | 'tokens' | 'finished'>> {
  const prompts = sampleReviews(o.evalPrompts, o.seed + 2).map((r) => r.prompt);
  const rewards: number[] = [];
  const kls: number[] = [];
  let tokens = 0;
  let finished = 0;
  await withModel(policyDir, async (policy) => {
    for (let i = 0; i < prompts.length; i++) {
      const promptIds = tok.encode(prompts[i], true);
      const samples = await sampleCompletions(policy, tok, promptIds, o.samplesPerPrompt, sampling(o, o.seed * 104729 + i));
      const refLogps = await computeSequenceLogps(
        reference,
        collate(
          samples.map((s) => ({ promptIds, responseIds: s.ids })),
          tok.padId ?? 0,
        ),
      );
      samples.forEach((s, j) => {
        rewards.push(trueReward(s.text));
        kls.push(s.logprob - refLogps[j]);
        tokens += s.ids.length;
        finished += s.finished ? 1 : 0;
      });
    }
  });
  const r = meanSe(rewards);
  const k = meanSe(kls);
  return { reward: r.mean, rewardSe: r.se, kl: k.mean, klSe: k.se, tokens: tokens / rewards.length, finished: finished / rewards.length };
}

export async function runQuality(o: QualityOptions): Promise<QualityResult> {
  const started = Date.now();
  fs.mkdirSync(o.outDir, { recursive: true });
  const dir = (name: string) => path.join(o.outDir, name);
  const base = dir('base-model');
  makeTinyModel(base, o.model);
  writeJsonl(dir('sft.jsonl'), sampleReviews(o.sftReviews, o.seed));
  o.log(`SFT on ${o.sftReviews} reviews (prompt-completion)`);
  const sftRun = await train(o, { mode: 'sft', model: base, data: dir('sft.jsonl'), output_dir: dir('sft'), ...o.sft }, o.sftReviews);
  const sftDir = sftRun.epochDirs[sftRun.epochDirs.length - 1];
  const tok = loadTokenizer(sftDir);
  const { model: reference } = loadModel(sftDir);
  const tensorsBefore = tf.memory().numTensors;
  try {
    o.log(`sampling pairs from the SFT model on ${o.pairPrompts} prompts`);
    const pairs = await samplePairs(o, reference, tok, dir('pairs.jsonl'));
    o.log(`  ${pairs.written} pairs (${pairs.skipped} prompts skipped), ${pairs.flipped} labeled against the true reward, ${pairs.tied} ties`);
    const policies: PolicyResult[] = [];
    const evaluate = async (method: string, name: string, epochDirs: string[], trainSeconds: number, beta?: number) => {
      for (let e = 0; e < epochDirs.length; e++) {
        const r = await evaluatePolicy(o, epochDirs[e], reference, tok);
        policies.push({ method, name, beta, epoch: e + 1, trainSeconds, ...r });
        o.log(
          `  ${name}, epoch ${e + 1}: true reward ${r.reward.toFixed(3)} ± ${r.rewardSe.toFixed(3)}, KL ${r.kl.toFixed(3)} ± ${r.klSe.toFixed(3)} ` +
            `(${r.tokens.toFixed(1)} tokens, ${(r.finished * 100).toFixed(0)}% ended)`,
        );
      }
    };
    policies.push({ method: 'SFT', name: 'SFT', epoch: 0, trainSeconds: sftRun.seconds, ...(await evaluatePolicy(o, sftDir, reference, tok)) });
    for (const beta of o.betas) {
      o.log(`DPO β = ${beta}`);
      const run = await train(
        o,
        { mode: 'dpo', model: sftDir, data: dir('pairs.jsonl'), output_dir: dir(`dpo-beta-${beta}`), beta, precompute_ref_log_probs: true, ...o.dpo },
        pairs.written,
      );
      await evaluate('DPO', `DPO β=${beta}`, run.epochDirs, run.seconds, beta);
    }
    o.log('preferred-FT (SFT on the chosen responses)');
    const pft = await train(o, { mode: 'sft', model: sftDir, data: dir('pairs.jsonl'), output_dir: dir('preferred-ft'), ...o.preferredFt }, pairs.written);
    await evaluate('preferred-FT', 'preferred-FT', pft.epochDirs, pft.seconds);
    if (tf.memory().numTensors !== tensorsBefore) o.log(`warning: tensor count ${tensorsBefore} -> ${tf.memory().numTensors}`);
    return { pairs, policies, seconds: (Date.now() - started) / 1000 };
  } finally {
    reference.dispose();
  }
}
