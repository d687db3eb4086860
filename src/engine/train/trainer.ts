// The training loop for DPO (and SFT to make a reference): data, reference log-probs, steps with
// gradient accumulation, clipping and AdamW, evaluation, metrics, checkpoints and resume. It reports
// through TrainerEvents and never prints; the CLI and the engine process decide how to show it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendReport, DpoConfig, FinishReason, HealthWarning, MetricsRecord, PairRecord, RunPhase } from '../../protocol';
import { CausalLM, WeightData } from '../model/transformer';
import { loadModel, saveModel } from '../model/checkpoint';
import { encodeSafetensors, readSafetensors, tensorToFloat32 } from '../model/safetensors';
import { TextTokenizer, loadTokenizer } from '../tokenizer/tokenizer';
import { badLineCount, readPreferenceFile } from '../data/preferences';
import { TokenizedPair, tokenizePairs } from '../data/tokenize';
import { SequenceBatch, collate, collatePairs } from '../data/batch';
import { batchTensors, computeSequenceLogps, sequenceLogps } from '../dpo/logps';
import { LOSSES, USES_MEAN_LOGPS } from '../dpo/losses';
import { RefLogps, computeRefLogps, readRefCache, refCacheKey, writeRefCache } from '../dpo/ref-cache';
import { Rng } from '../rng';
import { AdamW, clipFactor } from './optimizer';
import { learningRateAt, warmupSteps } from './schedule';
import { HealthMonitor } from './health';
import { RUN_FILES, RunFolder, TRAINER_STATE } from './run-folder';
import { describeBackend } from '../backend';
import { nonFiniteWeight } from '../model/finite';
import { acquireRunLock } from './run-lock';
import { checkNewRunDir, createRunDir } from './output-dir';
import { checkTokenIds, pathError, withPath } from './input-checks';

export interface TrainerEvents {
  onProgress?(phase: RunPhase, done: number, total: number, message?: string): void;
  onMetrics?(record: MetricsRecord): void;
  onWarning?(warning: HealthWarning): void;
  onCheckpoint?(step: number, dir: string): void;
  onLog?(line: string): void;
}

export interface RunOptions {
  backend: BackendReport;
  events?: TrainerEvents;
  /** Polled after every step: when true, the run checkpoints and returns 'stopped'. */
  shouldStop?: () => boolean;
}

export interface RunResult {
  runDir: string;
  reason: FinishReason;
  step: number;
  totalSteps: number;
  finalDir?: string;
  lastMetrics?: MetricsRecord;
  lastEval?: MetricsRecord;
  firstEval?: MetricsRecord;
}

export class TrainingError extends Error {}

/** What a checkpoint's trainer_state.json holds besides weights and optimizer moments. */
interface TrainerState {
  step: number;
  epoch: number;
  /** Data position: the batch within the epoch that the next step reads. */
  batchInEpoch: number;
  optimizerStep: number;
  elapsedSeconds: number;
  /** With the seed, the epoch fixes the data order (each epoch's permutation is seeded by both). */
  seed: number;
}

interface Split {
  train: TokenizedPair[];
  eval: TokenizedPair[];
}

/** Per-pair values of a step, gathered over micro-batches (and over the logging window). */
interface PairValues {
  lines: number[];
  chosenRewards: number[];
  rejectedRewards: number[];
  losses: number[];
  chosenLogps: number[];
  rejectedLogps: number[];
  tokens: number;
}

const emptyValues = (): PairValues => ({ lines: [], chosenRewards: [], rejectedRewards: [], losses: [], chosenLogps: [], rejectedLogps: [], tokens: 0 });
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** TRL's metric names over a set of pairs; `prefix` is '' or 'eval_'. */
function pairMetrics(v: PairValues, prefix: string, mode: DpoConfig['mode']): Record<string, number> {
  const m: Record<string, number> = { [`${prefix}loss`]: mean(v.losses), [`${prefix}logps/chosen`]: mean(v.chosenLogps) };
  if (mode === 'sft') return m;
  m[`${prefix}logps/rejected`] = mean(v.rejectedLogps);
  m[`${prefix}rewards/chosen`] = mean(v.chosenRewards);
  m[`${prefix}rewards/rejected`] = mean(v.rejectedRewards);
  m[`${prefix}rewards/margins`] = mean(v.chosenRewards.map((c, i) => c - v.rejectedRewards[i]));
  // Strictly greater, as TRL: a tie (e.g. policy == reference at step 0) is not a win.
  m[`${prefix}rewards/accuracies`] = mean(v.chosenRewards.map((c, i) => (c > v.rejectedRewards[i] ? 1 : 0)));
  return m;
}

function pairRecords(v: PairValues, step: number, split: PairRecord['split']): string[] {
  return v.lines.map((line, i) =>
    JSON.stringify({
      step, split, line, chosen_reward: v.chosenRewards[i] ?? 0, rejected_reward: v.rejectedRewards[i] ?? 0,
      margin: (v.chosenRewards[i] ?? 0) - (v.rejectedRewards[i] ?? 0), loss: v.losses[i],
    } satisfies PairRecord),
  );
}

function appendValues(into: PairValues, from: PairValues): void {
  for (const k of ['lines', 'chosenRewards', 'rejectedRewards', 'losses', 'chosenLogps', 'rejectedLogps'] as const) into[k].push(...from[k]);
  into.tokens += from.tokens;
}

export class Trainer {
  private readonly events: TrainerEvents;
  private policy?: CausalLM;
  private reference?: CausalLM;
  private optimizer?: AdamW;
  private tokenizer!: TextTokenizer;
  private refLogps?: { train: RefLogps; eval: RefLogps };
  private readonly folder: RunFolder;
  private releaseLock?: () => void;
  private restartNote?: string;

  private constructor(readonly config: DpoConfig, private readonly options: RunOptions, private readonly resumeFrom?: { step: number; dir: string }) {
    this.events = options.events ?? {};
    this.folder = new RunFolder(config.output_dir);
  }

  /** A new run in config.output_dir (which must not hold a run already). */
  static create(config: DpoConfig, options: RunOptions): Trainer {
    checkNewRunDir(config.output_dir); // before anything is written: never into a model or project folder
    createRunDir(config.output_dir);
    const folder = withPath(config.output_dir, () => new RunFolder(config.output_dir));
    const release = acquireRunLock(config.output_dir);
    try {
      withPath(folder.file('config'), () => folder.writeJson('config', config));
      return Object.assign(new Trainer(config, options), { releaseLock: release });
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Continues the run in `runDir` from its newest complete checkpoint. */
  static resume(runDir: string, options: RunOptions, resolve: (raw: Record<string, unknown>) => DpoConfig): Trainer {
    const file = path.join(runDir, RUN_FILES.config);
    if (!fs.existsSync(file)) throw new TrainingError(`${runDir}: not a run folder (no ${RUN_FILES.config})`);
    const config = resolve({ ...JSON.parse(fs.readFileSync(file, 'utf8')), output_dir: runDir });
    const release = acquireRunLock(runDir);
    try {
      const folder = new RunFolder(runDir);
      const latest = folder.checkpoints().pop();
      if (latest) return Object.assign(new Trainer(config, options, latest), { releaseLock: release });
      // Killed (or out of disk) before its first checkpoint: nothing to continue, so start over.
      if (fs.existsSync(folder.file('final'))) throw new TrainingError(`${runDir}: the run has finished (final/ exists) and kept no checkpoint to resume from`);
      folder.truncateAfter(-1);
      const restartNote = `resumed: no complete checkpoint in ${runDir} (checkpoints/step-N with ${TRAINER_STATE}); restarting from step 0`;
      return Object.assign(new Trainer(config, options), { releaseLock: release, restartNote });
    } catch (err) {
      release();
      throw err;
    }
  }

  private log(line: string): void {
    this.folder.log(line);
    this.events.onLog?.(line);
  }

  private warn(w: HealthWarning): void {
    this.log(`warning [${w.code}] step ${w.step}: ${w.message}`);
    this.events.onWarning?.(w);
  }

  private progress(phase: RunPhase, done: number, total: number, message?: string): void {
    this.events.onProgress?.(phase, done, total, message);
  }

  private prepareData(): Split {
    const c = this.config;
    const read = (file: string) => {
      const r = readPreferenceFile(file, { skipBadLines: c.skip_bad_lines, completions: c.mode === 'sft' });
      if (r.problems.length > 0) {
        this.warn({ code: 'data', step: 0, message: `${file}: skipped ${badLineCount(r.problems)} unusable line(s) (skip_bad_lines)` });
      }
      if (r.excluded.length > 0) this.log(`data: ${file}: left out ${r.excluded.length} pair(s) labeled "tie" or "skip"`);
      return r.pairs;
    };
    const maxLength = Math.min(c.max_length, this.policy!.config.maxPositions);
    if (maxLength < c.max_length) this.log(`max_length ${c.max_length} exceeds the model's ${maxLength} positions; using ${maxLength}`);
    const tokenize = (file: string, pairs: ReturnType<typeof read>) => {
      const t = tokenizePairs(this.tokenizer, pairs, { maxLength, maxPromptLength: c.max_prompt_length ?? undefined });
      if (t.dropped.length) {
        this.warn({ code: 'data', step: 0, message: `${file}: dropped ${t.dropped.length} pair(s) whose prompt alone fills max_length ${maxLength} (lines ${t.dropped.slice(0, 10).map((d) => d.line).join(', ')}${t.dropped.length > 10 ? ', …' : ''})` });
      }
      if (t.truncatedCount) this.log(`${file}: truncated ${t.truncatedCount} pair(s) to max_length ${maxLength}`);
      return checkTokenIds(t.pairs, this.policy!.config.vocabSize, file, c.model, this.tokenizer.vocabSize);
    };
    this.progress('tokenizing', 0, 1);
    let train = tokenize(c.data, read(c.data));
    let evalPairs: TokenizedPair[] = [];
    if (c.eval_data) evalPairs = tokenize(c.eval_data, read(c.eval_data));
    else if (c.eval_fraction > 0) {
      // A seeded split, independent of the training order's RNG.
      const order = new Rng(c.seed ^ 0x5eed).shuffle(train.map((_, i) => i));
      const nEval = Math.max(1, Math.round(train.length * c.eval_fraction));
      const evalSet = new Set(order.slice(0, nEval));
      evalPairs = train.filter((_, i) => evalSet.has(i));
      train = train.filter((_, i) => !evalSet.has(i));
    }
    if (train.length === 0) throw new TrainingError(`${c.data}: no training pairs left after the eval split and truncation`);
    this.progress('tokenizing', 1, 1);
    this.log(`data: ${train.length} training pair(s), ${evalPairs.length} eval pair(s)`);
    return { train, eval: evalPairs };
  }

  private referenceDir(): string {
    return this.config.reference_model ?? this.config.model;
  }

  private get needsReference(): boolean {
    return this.config.mode === 'dpo' && !this.config.reference_free;
  }

  private async prepareReference(split: Split): Promise<void> {
    if (!this.needsReference) return;
    const c = this.config;
    this.progress('loading', 0, 1, `reference model ${this.referenceDir()}`);
    const padId = this.tokenizer.padId ?? 0;
    if (!c.precompute_ref_log_probs) {
      this.reference = loadModel(this.referenceDir(), { trainable: false }).model;
      return;
    }
    const cacheDir = path.join(c.output_dir, RUN_FILES.refCache);
    const key = refCacheKey({
      referenceDir: this.referenceDir(),
      dataFiles: [c.data, ...(c.eval_data ? [c.eval_data] : [])],
      maxLength: Math.min(c.max_length, this.policy!.config.maxPositions),
      maxPromptLength: c.max_prompt_length,
    });
    const cached = readRefCache(cacheDir, key);
    if (cached && split.train.every((p) => cached.train.has(p.line)) && split.eval.every((p) => cached.eval.has(p.line))) {
      this.refLogps = cached;
      this.log(`reference log-probs: reusing cache ${key}`);
      return;
    }
    const reference = loadModel(this.referenceDir(), { trainable: false }).model;
    try {
      const total = split.train.length + split.eval.length;
      const train = await computeRefLogps(reference, split.train, c.batch_size, padId, (d) => this.progress('reference', d, total));
      const evalLogps = await computeRefLogps(reference, split.eval, c.batch_size, padId, (d) => this.progress('reference', split.train.length + d, total));
      writeRefCache(cacheDir, key, train, evalLogps);
      this.refLogps = { train, eval: evalLogps };
      this.log(`reference log-probs: computed for ${total} pair(s), cached as ${key}; reference weights freed`);
    } finally {
      reference.dispose(); // the point of the cache: the reference leaves memory
    }
  }

  /** Reference log-probs [chosen..., rejected...] for pairs, from the cache or a forward pass. */
  private async referenceFor(pairs: TokenizedPair[], split: 'train' | 'eval', batch: SequenceBatch): Promise<number[]> {
    if (!this.needsReference) return new Array(pairs.length * 2).fill(0);
    if (this.refLogps) {
      const map = this.refLogps[split];
      return [...pairs.map((p) => map.get(p.line)![0]), ...pairs.map((p) => map.get(p.line)![1])];
    }
    return computeSequenceLogps(this.reference!, batch);
  }

  /** Loss-input log-probs: sums, or per-token means for losses that want them (IPO). */
  private lossLogps(sums: number[], pairs: TokenizedPair[]): number[] {
    if (!USES_MEAN_LOGPS[this.config.loss_type]) return sums;
    const n = pairs.length;
    return sums.map((s, i) => s / (i < n ? pairs[i].chosenIds.length : pairs[i - n].rejectedIds.length));
  }

  /**
   * Forward+backward of one micro-batch. Gradients are of (sum of per-pair losses) / stepPairs, so
   * accumulating micro-batches gives exactly the gradient of the mean over the step's pairs.
   */
  private async microStep(pairs: TokenizedPair[], stepPairs: number, grads: Map<string, tf.Tensor>): Promise<PairValues> {
    const c = this.config;
    const policy = this.policy!;
    const n = pairs.length;
    const sft = c.mode === 'sft';
    const padId = this.tokenizer.padId ?? 0;
    const batch = sft ? collate(pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.chosenIds })), padId) : collatePairs(pairs, padId);
    const ref = sft ? [] : this.lossLogps(await this.referenceFor(pairs, 'train', batch), pairs);
    const chosenTokens = pairs.map((p) => p.chosenIds.length);
    const tokenCounts = sft ? chosenTokens : [...chosenTokens, ...pairs.map((p) => p.rejectedIds.length)];
    let kept: tf.Tensor[] = [];
    const { value, grads: g } = tf.variableGrads(() => {
      const { ids, mask } = batchTensors(batch);
      const sums = sequenceLogps(policy, ids, mask); // [rows]
      const counts = tf.tensor1d(tokenCounts);
      // NLL per pair, token-averaged, on the chosen response: the SFT objective, and RPO's extra term.
      const nll = tf.neg(tf.div(tf.slice(sums, 0, n), tf.slice(counts, 0, n))); // [n]
      let perPair: tf.Tensor1D;
      if (sft) perPair = nll as tf.Tensor1D;
      else {
        const logps = USES_MEAN_LOGPS[c.loss_type] ? tf.div(sums, counts) : sums;
        const refT = tf.tensor1d(ref);
        perPair = LOSSES[c.loss_type](
          {
            policyChosenLogps: tf.slice(logps, 0, n) as tf.Tensor1D,
            policyRejectedLogps: tf.slice(logps, n, n) as tf.Tensor1D,
            referenceChosenLogps: tf.slice(refT, 0, n) as tf.Tensor1D,
            referenceRejectedLogps: tf.slice(refT, n, n) as tf.Tensor1D,
          },
          { beta: c.beta, labelSmoothing: c.label_smoothing },
        );
        if (c.sft_weight > 0) perPair = tf.add(perPair, tf.mul(nll, c.sft_weight)) as tf.Tensor1D;
      }
      kept = [tf.keep(sums), tf.keep(perPair)];
      return tf.div(tf.sum(perPair), stepPairs) as tf.Scalar;
    }, policy.trainableVariables());
    value.dispose();
    for (const [name, w] of policy.weights) {
      const gw = g[w.name];
      const prev = grads.get(name);
      grads.set(name, prev ? tf.tidy(() => tf.add(prev, gw)) : gw);
      if (prev) {
        prev.dispose();
        gw.dispose();
      }
    }
    const [sumsT, lossesT] = kept;
    const sums = Array.from(await sumsT.data());
    const losses = Array.from(await lossesT.data());
    tf.dispose(kept);
    const v = emptyValues();
    v.lines = pairs.map((p) => p.line);
    v.losses = losses;
    v.tokens = batch.realTokens;
    const logps = sft ? sums : this.lossLogps(sums, pairs);
    v.chosenLogps = logps.slice(0, n);
    if (!sft) {
      v.rejectedLogps = logps.slice(n, 2 * n);
      v.chosenRewards = v.chosenLogps.map((x, i) => c.beta * (x - ref[i]));
      v.rejectedRewards = v.rejectedLogps.map((x, i) => c.beta * (x - ref[n + i]));
    }
    return v;
  }

  private async evaluate(pairs: TokenizedPair[]): Promise<{ metrics: Record<string, number>; values: PairValues }> {
    const c = this.config;
    const total = emptyValues();
    const padId = this.tokenizer.padId ?? 0;
    for (let i = 0; i < pairs.length; i += c.batch_size) {
      const chunk = pairs.slice(i, i + c.batch_size);
      const n = chunk.length;
      const sft = c.mode === 'sft';
      const batch = sft ? collate(chunk.map((p) => ({ promptIds: p.promptIds, responseIds: p.chosenIds })), padId) : collatePairs(chunk, padId);
      const sums = await computeSequenceLogps(this.policy!, batch);
      const v = emptyValues();
      v.lines = chunk.map((p) => p.line);
      if (sft) {
        v.chosenLogps = sums;
        v.losses = sums.map((s, j) => -s / chunk[j].chosenIds.length);
      } else {
        const ref = this.lossLogps(await this.referenceFor(chunk, 'eval', batch), chunk);
        const logps = this.lossLogps(sums, chunk);
        v.chosenLogps = logps.slice(0, n);
        v.rejectedLogps = logps.slice(n);
        v.chosenRewards = v.chosenLogps.map((x, j) => c.beta * (x - ref[j]));
        v.rejectedRewards = v.rejectedLogps.map((x, j) => c.beta * (x - ref[n + j]));
        const lossT = tf.tidy(() => {
          const t = (xs: number[]) => tf.tensor1d(xs);
          let l = LOSSES[c.loss_type](
            { policyChosenLogps: t(v.chosenLogps), policyRejectedLogps: t(v.rejectedLogps), referenceChosenLogps: t(ref.slice(0, n)), referenceRejectedLogps: t(ref.slice(n)) },
            { beta: c.beta, labelSmoothing: c.label_smoothing },
          );
          if (c.sft_weight > 0) l = tf.add(l, tf.mul(t(sums.slice(0, n).map((s, j) => -s / chunk[j].chosenIds.length)), c.sft_weight)) as tf.Tensor1D;
          return l;
        });
        v.losses = Array.from(await lossT.data());
        lossT.dispose();
      }
      appendValues(total, v);
      this.progress('evaluating', Math.min(i + c.batch_size, pairs.length), pairs.length);
    }
    return { metrics: pairMetrics(total, 'eval_', c.mode), values: total };
  }

  private async saveCheckpoint(step: number, state: Omit<TrainerState, 'step'>): Promise<void> {
    this.progress('saving', 0, 1, `checkpoint at step ${step}`);
    const dir = await this.folder.writeCheckpoint(
      step,
      async (tmp) => {
        // A full Hugging Face folder (loadable as it is) plus the optimizer and the trainer state.
        await saveModel(this.policy!, tmp, { tokenizerFrom: this.config.model });
        const opt = await this.optimizer!.exportState();
        fs.writeFileSync(path.join(tmp, 'optimizer.safetensors'), encodeSafetensors([...opt].map(([name, w]) => ({ name, shape: w.shape, data: w.data }))));
        // Written last: its presence marks the checkpoint complete.
        fs.writeFileSync(path.join(tmp, TRAINER_STATE), JSON.stringify({ step, ...state } satisfies TrainerState, null, 2) + '\n');
      },
      this.config.save_total_limit,
    );
    this.log(`checkpoint: step ${step} -> ${dir}`);
    this.events.onCheckpoint?.(step, dir);
    this.progress('saving', 1, 1);
  }

  private restore(): TrainerState {
    const { dir } = this.resumeFrom!;
    const state = JSON.parse(fs.readFileSync(path.join(dir, TRAINER_STATE), 'utf8')) as TrainerState;
    const st = readSafetensors(path.join(dir, 'optimizer.safetensors'));
    const opt = new Map<string, WeightData>();
    for (const name of st.tensors.keys()) {
      const t = tensorToFloat32(st, name);
      opt.set(name, { shape: t.shape, data: t.data });
    }
    this.optimizer!.importState(opt, state.optimizerStep);
    this.folder.truncateAfter(state.step);
    this.log(`resumed from ${dir} (step ${state.step})`);
    return state;
  }

  async run(): Promise<RunResult> {
    const c = this.config;
    const started = Date.now();
    try {
      if (this.restartNote) this.log(this.restartNote);
      this.log(`${this.resumeFrom ? 'resuming' : 'starting'} ${c.mode} run in ${c.output_dir}; ${describeBackend(this.options.backend)}`);
      const b = this.options.backend;
      if (b.name === 'cpu' && !b.forced) {
        const why = b.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
        this.warn({ code: 'slow-backend', step: 0, message: `running on the cpu backend (about 50x slower than wasm) because the faster backends did not load: ${why}` });
      }
      this.progress('loading', 0, 1, `policy ${this.resumeFrom?.dir ?? c.model}`);
      this.tokenizer = loadTokenizer(c.model);
      const loaded = loadModel(this.resumeFrom?.dir ?? c.model);
      this.policy = loaded.model;
      for (const w of loaded.warnings) this.log(w);
      this.log(`policy: ${this.policy.config.architecture}, ${this.policy.numParameters().toLocaleString('en-US')} parameters`);
      const split = this.prepareData();
      await this.prepareReference(split);
      this.optimizer = new AdamW(this.policy.weights, { beta1: c.adam_beta1, beta2: c.adam_beta2, epsilon: c.adam_epsilon, weightDecay: c.weight_decay });

      const perStep = c.batch_size * c.gradient_accumulation_steps;
      const stepsPerEpoch = Math.ceil(split.train.length / perStep);
      const totalSteps = c.max_steps ?? Math.max(1, Math.ceil(c.num_train_epochs * stepsPerEpoch));
      const schedule = { peak: c.learning_rate, warmupSteps: warmupSteps(totalSteps, c.warmup_steps, c.warmup_ratio), totalSteps, type: c.lr_scheduler_type };
      let state: TrainerState = { step: 0, epoch: 0, batchInEpoch: 0, optimizerStep: 0, elapsedSeconds: 0, seed: c.seed };
      if (this.resumeFrom) state = this.restore();
      const baseElapsed = state.elapsedSeconds;
      const health = new HealthMonitor({
        stuckSteps: c.stuck_loss_steps, fallingWindow: c.falling_logps_window, lossType: c.loss_type,
        hasEval: split.eval.length > 0, learningRate: c.learning_rate, beta: c.beta, sftWeight: c.sft_weight,
      });
      const result: RunResult = { runDir: c.output_dir, reason: 'completed', step: state.step, totalSteps };
      this.log(`steps: ${totalSteps} (${stepsPerEpoch} per epoch, ${perStep} pair(s) per step), warm-up ${schedule.warmupSteps}`);

      const runEval = async (step: number) => {
        if (split.eval.length === 0) return;
        const { metrics, values } = await this.evaluate(split.eval);
        const record: MetricsRecord = { step, epoch: step / stepsPerEpoch, ...metrics };
        this.folder.append('metrics', [JSON.stringify(record)]);
        this.folder.append('pairs', pairRecords(values, step, 'eval'));
        this.events.onMetrics?.(record);
        if (c.mode === 'dpo') for (const w of health.observeEval(record)) this.warn(w);
        result.firstEval ??= record;
        result.lastEval = record;
      };
      if (state.step === 0) await runEval(0);

      let order: number[] = [];
      let orderEpoch = -1;
      let window = emptyValues();
      let windowGradNorms: number[] = [];
      let windowSeconds = 0;
      while (state.step < totalSteps) {
        const epoch = Math.floor(state.step / stepsPerEpoch);
        const batchInEpoch = state.step % stepsPerEpoch;
        if (epoch !== orderEpoch) {
          // The order of an epoch depends only on (seed, epoch): a resumed run reads the same batches.
          order = new Rng(c.seed * 1_000_003 + epoch).shuffle(split.train.map((_, i) => i));
          orderEpoch = epoch;
        }
        const stepPairs = order.slice(batchInEpoch * perStep, (batchInEpoch + 1) * perStep).map((i) => split.train[i]);
        const t0 = process.hrtime.bigint();
        const grads = new Map<string, tf.Tensor>();
        const values = emptyValues();
        try {
          for (let i = 0; i < stepPairs.length; i += c.batch_size) {
            appendValues(values, await this.microStep(stepPairs.slice(i, i + c.batch_size), stepPairs.length, grads));
          }
          const normT = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
          const gradNorm = (await normT.data())[0];
          normT.dispose();
          const lossValue = mean(values.losses);
          if (!Number.isFinite(lossValue) || !Number.isFinite(gradNorm)) {
            const what = !Number.isFinite(lossValue) ? `loss ${lossValue}` : `grad_norm ${gradNorm}`;
            const message = `non-finite ${what} at step ${state.step + 1}; the batch held data lines ${values.lines.join(', ')} of ${c.data}. Lower learning_rate, check those lines, or keep max_grad_norm > 0.`;
            this.warn({ code: 'non-finite', step: state.step + 1, message });
            throw new TrainingError(message);
          }
          const lr = learningRateAt(state.step, schedule);
          const factor = clipFactor(gradNorm, c.max_grad_norm);
          const update = factor === 1 ? grads : new Map([...grads].map(([k, g]) => [k, tf.mul(g, factor)] as const));
          this.optimizer.apply(update, lr);
          if (update !== grads) for (const t of update.values()) t.dispose();
          const badWeight = await nonFiniteWeight(this.policy.weights);
          if (badWeight) {
            const message = `non-finite weight '${badWeight}' after the update of step ${state.step + 1} (learning_rate ${lr}): the update overflowed. Lower learning_rate; nothing was saved from this step (the last checkpoint stands).`;
            this.warn({ code: 'non-finite', step: state.step + 1, message });
            throw new TrainingError(message);
          }
          windowGradNorms.push(gradNorm);
          state.step++;
          state.optimizerStep = this.optimizer.step;
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          windowSeconds += seconds;
          appendValues(window, values);
          state.elapsedSeconds = baseElapsed + (Date.now() - started) / 1000;
          state.epoch = Math.floor(state.step / stepsPerEpoch);
          state.batchInEpoch = state.step % stepsPerEpoch;
          if (state.step % c.logging_steps === 0 || state.step === totalSteps) {
            const record: MetricsRecord = {
              step: state.step,
              epoch: state.step / stepsPerEpoch,
              ...pairMetrics(window, '', c.mode),
              grad_norm: mean(windowGradNorms),
              learning_rate: lr,
              tokens_per_second: window.tokens / windowSeconds,
              elapsed_seconds: state.elapsedSeconds,
              'memory/num_tensors': tf.memory().numTensors,
            };
            this.folder.append('metrics', [JSON.stringify(record)]);
            this.folder.append('pairs', pairRecords(window, state.step, 'train'));
            this.events.onMetrics?.(record);
            result.lastMetrics = record;
            if (c.mode === 'dpo') for (const w of health.observe(record)) this.warn(w);
            window = emptyValues();
            windowGradNorms = [];
            windowSeconds = 0;
          }
        } finally {
          for (const g of grads.values()) g.dispose();
        }
        this.progress('training', state.step, totalSteps);
        result.step = state.step;
        if (state.step % c.eval_steps === 0 && state.step < totalSteps) await runEval(state.step);
        const stopping = this.options.shouldStop?.() ?? false;
        if (state.step < totalSteps && (state.step % c.save_steps === 0 || stopping)) {
          await this.saveCheckpoint(state.step, state);
        }
        if (stopping && state.step < totalSteps) {
          result.reason = 'stopped';
          this.log(`stopped at step ${state.step} of ${totalSteps}; resume with: dpo train --resume ${c.output_dir}`);
          return result;
        }
        await new Promise(setImmediate); // let stop requests and I/O in
      }
      await runEval(state.step);
      this.progress('saving', 0, 1, 'final model');
      const finalDir = this.folder.file('final');
      fs.rmSync(finalDir, { recursive: true, force: true });
      await saveModel(this.policy, `${finalDir}.tmp`, { tokenizerFrom: c.model });
      fs.rmSync(finalDir, { recursive: true, force: true });
      fs.renameSync(`${finalDir}.tmp`, finalDir);
      this.progress('saving', 1, 1);
      result.finalDir = finalDir;
      this.log(`done: ${state.step} step(s); final model in ${finalDir}`);
      return result;
    } catch (err) {
      throw this.explain(err);
    } finally {
      this.dispose();
    }
  }

  /** emscripten's "Aborted()" from the wasm backend means its heap (at most 4 GiB) is exhausted. */
  private explain(err: unknown): unknown {
    const message = err instanceof Error ? err.message : String(err);
    if ((err as NodeJS.ErrnoException).code) return pathError(err, this.config.output_dir);
    if (this.options.backend.name !== 'wasm' || !/^Aborted\(/.test(message)) return err;
    const params = this.policy?.numParameters();
    const text =
      `the wasm backend ran out of memory (its heap is at most 4 GiB, and training keeps weights, gradients, ` +
      `AdamW moments and packed matrix copies there${params ? ` for ${params.toLocaleString('en-US')} parameters` : ''}). ` +
      `Use a smaller batch_size or max_length, precompute_ref_log_probs, or the tfjs-node / tfjs-node-gpu backend. The last checkpoint stands.`;
    this.log(`error: ${text}`);
    return new TrainingError(text);
  }

  dispose(): void {
    this.policy?.dispose();
    this.reference?.dispose();
    this.optimizer?.dispose();
    this.policy = this.reference = this.optimizer = undefined;
    this.releaseLock?.();
    this.releaseLock = undefined;
  }
}

