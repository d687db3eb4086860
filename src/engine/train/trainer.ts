// The training run for DPO (and SFT to make a reference): it loads the models, prepares the data
// (data.ts) and the reference log-probs (reference.ts), then loops over steps (step.ts), evaluates
// (evaluate.ts), logs metrics and checkpoints (checkpoints.ts) until the final save or a stop. It
// reports through TrainerEvents and the run folder and never prints; the CLI and the engine process
// decide how to show it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  BackendReport,
  backendLabel,
  DpoConfig,
  FinishReason,
  HealthWarning,
  MetricsRecord,
  MetricsSplit,
  RUN_FILES,
  RunPhase,
  RunStatus,
} from '../../protocol';
import { RunFolder, readRunRecords } from '../../node/run-folder';
import { CausalLM } from '../model/transformer';
import { loadModel, readModelConfig } from '../model/checkpoint';
import { ModelConfig } from '../model/config';
import { loraSettingsOf } from '../model/lora';
import { attachAdapters, loraTargets } from './lora-setup';
import { MemoryEstimate, describeEstimate, estimateTrainingMemory, isAllocatorFailure, outOfMemoryMessage, preflightRefusal } from './memory-plan';
import { loadTokenizer } from '../tokenizer/tokenizer';
import { causedByUntrustedInput } from '../tokenizer/untrusted';
import { Rng } from '../rng';
import { describeBackend } from '../backend';
import { checkDeviceLimits, longestSequence } from '../device-limits';
import { AdamW, momentPlacementFor } from './optimizer';
import { evalInterval, learningRateAt, warmupSteps } from './schedule';
import { HealthMonitor } from './health';
import { Split, prepareData } from './data';
import { ReferenceLogps } from './reference';
import { NonFiniteError, trainStep } from './step';
import { evaluate } from './evaluate';
import { TrainerState, restoreCheckpoint, saveCheckpoint, saveFinal } from './checkpoints';
import { PairValues, appendValues, emptyValues, mean, pairMetrics, pairRecords } from './pair-values';
import { Report, TrainingError } from './report';
import { acquireRunLock } from './run-lock';
import { checkNewRunDir, createRunDir, startDecision } from './output-dir';
import { checkTokenIds, pathError, withPath } from './input-checks';

export { TrainingError };

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

/** Train metrics gathered between two logged steps. */
interface LogWindow {
  values: PairValues;
  gradNorms: number[];
  seconds: number;
}

const emptyWindow = (): LogWindow => ({ values: emptyValues(), gradNorms: [], seconds: 0 });

export class Trainer implements Report {
  private readonly events: TrainerEvents;
  private policy?: CausalLM;
  private reference?: ReferenceLogps;
  private memoryEstimate?: MemoryEstimate;
  private optimizer?: AdamW;
  private readonly folder: RunFolder;
  private step = 0;
  private totalSteps = 0;
  /** Releases run.lock (one writer per run folder); called once the run ends. */
  private releaseLock?: () => void;
  /** Said in the log when a resume found no checkpoint and starts over. */
  private restartNote?: string;
  /** Warnings the resumed run's kept records hold (code, step and message), read once. */
  private kept?: Set<string>;

  private constructor(
    readonly config: DpoConfig,
    private readonly options: RunOptions,
    private readonly resumeFrom?: { step: number; dir: string },
  ) {
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
    const decision = startDecision(runDir, true);
    if (decision.action === 'refuse') throw new TrainingError(decision.message);
    const file = path.join(runDir, RUN_FILES.config);
    const config = resolve({ ...JSON.parse(fs.readFileSync(file, 'utf8')), output_dir: runDir });
    const release = acquireRunLock(runDir);
    try {
      if (decision.action === 'resume') return Object.assign(new Trainer(config, options, decision), { releaseLock: release });
      // Killed (or out of disk) before its first checkpoint: nothing to continue, so start over.
      new RunFolder(runDir).truncateAfter(-1);
      return Object.assign(new Trainer(config, options), { releaseLock: release, restartNote: decision.action === 'restart' ? decision.message : undefined });
    } catch (err) {
      release();
      throw err;
    }
  }

  log(line: string): void {
    this.folder.log(line);
    this.events.onLog?.(line);
  }

  warn(w: HealthWarning): void {
    this.log(`warning [${w.code}] step ${w.step}: ${w.message}`);
    // A resumed run repeats its start-up warnings (data, backend); the kept records already hold them.
    if (!this.keptWarning(w)) this.folder.record({ kind: 'warning', ...w });
    this.events.onWarning?.(w);
  }

  private keptWarning(w: HealthWarning): boolean {
    if (!this.resumeFrom || w.step > this.resumeFrom.step) return false;
    this.kept ??= new Set(readRunRecords(this.config.output_dir).records.flatMap((r) => (r.kind === 'warning' ? [warningKey(r)] : [])));
    return this.kept.has(warningKey(w));
  }

  progress(phase: RunPhase, done: number, total: number, message?: string): void {
    this.events.onProgress?.(phase, done, total, message);
  }

  private status(status: RunStatus, message?: string): void {
    this.folder.status({
      status,
      step: this.step,
      total_steps: this.totalSteps,
      engine: 'tfjs',
      device: backendLabel(this.options.backend),
      ...(message ? { message } : {}),
    });
  }

  private metrics(split: MetricsSplit, epoch: number, values: Record<string, number>): MetricsRecord {
    const record: MetricsRecord = { kind: 'metrics', split, step: this.step, epoch, values };
    this.folder.record(record);
    this.events.onMetrics?.(record);
    return record;
  }

  private async load(): Promise<{ split: Split; padId: number }> {
    const c = this.config;
    if (this.restartNote) this.log(this.restartNote);
    this.log(`${this.resumeFrom ? 'resuming' : 'starting'} ${c.mode} run in ${c.output_dir}; ${describeBackend(this.options.backend)}`);
    const b = this.options.backend;
    if (b.name === 'cpu' && !b.forced) {
      const why = b.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
      this.warn({
        code: 'slow-backend',
        step: 0,
        message: `running on the cpu backend (about 50x slower than wasm) because the faster backends did not load: ${why}`,
      });
    }
    const lora = loraSettingsOf(c);
    // A LoRA checkpoint holds the adapter only: the base is always the run's model.
    const modelDir = lora ? c.model : (this.resumeFrom?.dir ?? c.model);
    // Data first, from config.json and the tokenizer alone: the memory preflight needs the longest
    // sequence, and a run that cannot fit should stop before its weights are read.
    const modelConfig = readModelConfig(modelDir);
    const tokenizer = loadTokenizer(c.model);
    const padId = tokenizer.padId ?? 0;
    const split = prepareData(c, tokenizer, modelConfig.maxPositions, this, (pairs, file) =>
      checkTokenIds(pairs, modelConfig.vocabSize, file, c.model, tokenizer.vocabSize),
    );
    const longest = longestSequence([...split.train, ...split.eval]);
    const loraModules = lora ? loraTargets(modelConfig, lora, c.model) : undefined;
    this.preflightMemory(modelConfig, longest);
    this.progress('loading', 0, 1, `policy ${modelDir}`);
    const loaded = loadModel(modelDir, { trainable: !lora });
    this.policy = loaded.model;
    this.policy.recomputeBlocks = c.gradient_checkpointing;
    for (const w of loaded.warnings) this.log(w);
    this.log(`policy: ${this.policy.config.architecture}, ${this.policy.numParameters().toLocaleString('en-US')} parameters`);
    if (lora && loraModules) attachAdapters(this.policy, lora, loraModules, this.resumeFrom?.dir, c.seed, this);
    // webgpu: refuse a run whose largest tensor exceeds the adapter's buffer limits, before any step.
    checkDeviceLimits(this.options.backend, this.policy.config, { ...c, max_length: longest });
    this.reference = await ReferenceLogps.prepare(c, split, padId, this.policy.config.maxPositions, this, this.policy, this.resumeFrom !== undefined);
    this.optimizer = new AdamW(
      this.policy.trainableWeights(),
      { beta1: c.adam_beta1, beta2: c.adam_beta2, epsilon: c.adam_epsilon, weightDecay: c.weight_decay },
      momentPlacementFor(this.options.backend.name), // wasm: outside its 4 GiB heap
    );
    return { split, padId };
  }

  async run(): Promise<RunResult> {
    const c = this.config;
    const started = Date.now();
    try {
      const { split, padId } = await this.load();
      const policy = this.policy!;
      const optimizer = this.optimizer!;
      const reference = this.reference!;
      const perStep = c.batch_size * c.gradient_accumulation_steps;
      const stepsPerEpoch = Math.ceil(split.train.length / perStep);
      const totalSteps = c.max_steps ?? Math.max(1, Math.ceil(c.num_train_epochs * stepsPerEpoch));
      const evalEvery = evalInterval(c.eval_steps, totalSteps);
      const schedule = { peak: c.learning_rate, warmupSteps: warmupSteps(totalSteps, c.warmup_steps, c.warmup_ratio), totalSteps, type: c.lr_scheduler_type };
      let state: TrainerState = { step: 0, epoch: 0, batchInEpoch: 0, optimizerStep: 0, elapsedSeconds: 0, seed: c.seed };
      if (this.resumeFrom) {
        state = restoreCheckpoint(this.resumeFrom.dir, optimizer);
        this.folder.truncateAfter(state.step);
        this.log(`resumed from ${this.resumeFrom.dir} (step ${state.step})`);
      }
      this.step = state.step;
      this.totalSteps = totalSteps;
      this.status('running');
      const baseElapsed = state.elapsedSeconds;
      const health = new HealthMonitor({
        stuckSteps: c.stuck_loss_steps,
        fallingWindow: c.falling_logps_window,
        lossType: c.loss_type,
        hasEval: split.eval.length > 0,
        learningRate: c.learning_rate,
        beta: c.beta,
        sftWeight: c.sft_weight,
        lossWeights: c.loss_weights,
      });
      const result: RunResult = { runDir: c.output_dir, reason: 'completed', step: state.step, totalSteps };
      this.log(`steps: ${totalSteps} (${stepsPerEpoch} per epoch, ${perStep} pair(s) per step), warm-up ${schedule.warmupSteps}`);
      const stepInputs = { config: c, policy, optimizer, reference, padId };

      const runEval = async () => {
        if (split.eval.length === 0) return;
        const values = await evaluate(c, policy, reference, split.eval, padId, this);
        const record = this.metrics('eval', this.step / stepsPerEpoch, pairMetrics(values, 'eval', c.mode));
        this.folder.pairs(pairRecords(values, this.step, 'eval'));
        if (c.mode === 'dpo') for (const w of health.observeEval(record)) this.warn(w);
        result.firstEval ??= record;
        result.lastEval = record;
      };
      if (state.step === 0) await runEval();

      let order: number[] = [];
      let orderEpoch = -1;
      let window = emptyWindow();
      while (state.step < totalSteps) {
        const epoch = Math.floor(state.step / stepsPerEpoch);
        if (epoch !== orderEpoch) {
          // Depends only on (seed, epoch), so a resume reads the same batches; KTO reads in order, as TRL's KTOTrainer.
          const indices = split.train.map((_, i) => i);
          order = c.mode === 'kto' ? indices : new Rng(c.seed * 1_000_003 + epoch).shuffle(indices);
          orderEpoch = epoch;
        }
        const batchInEpoch = state.step % stepsPerEpoch;
        const stepPairs = order.slice(batchInEpoch * perStep, (batchInEpoch + 1) * perStep).map((i) => split.train[i]);
        const t0 = process.hrtime.bigint();
        const lr = learningRateAt(state.step, schedule);
        const { values, gradNorm } = await this.guardedStep(() => trainStep(stepInputs, stepPairs, lr, state.step + 1), state.step + 1);
        state.step++;
        this.step = state.step;
        state.optimizerStep = optimizer.step;
        state.elapsedSeconds = baseElapsed + (Date.now() - started) / 1000;
        state.epoch = Math.floor(state.step / stepsPerEpoch);
        state.batchInEpoch = state.step % stepsPerEpoch;
        appendValues(window.values, values);
        window.gradNorms.push(gradNorm);
        window.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
        if (state.step % c.logging_steps === 0 || state.step === totalSteps) {
          const record = this.metrics('train', state.step / stepsPerEpoch, {
            ...pairMetrics(window.values, 'train', c.mode),
            grad_norm: mean(window.gradNorms),
            learning_rate: lr,
            tokens_per_second: window.values.tokens / window.seconds,
            elapsed_seconds: state.elapsedSeconds,
            'memory/num_tensors': tf.memory().numTensors,
          });
          this.folder.pairs(pairRecords(window.values, state.step, 'train'));
          result.lastMetrics = record;
          if (c.mode === 'dpo') for (const w of health.observe(record)) this.warn(w);
          window = emptyWindow();
        }
        this.progress('training', state.step, totalSteps);
        result.step = state.step;
        if (state.step % evalEvery === 0 && state.step < totalSteps) await runEval();
        const stopping = this.options.shouldStop?.() ?? false;
        if (state.step < totalSteps && (state.step % c.save_steps === 0 || stopping)) await this.checkpoint(state);
        if (stopping && state.step < totalSteps) {
          result.reason = 'stopped';
          this.log(`stopped at step ${state.step} of ${totalSteps}; resume with: dpo train --resume ${c.output_dir}`);
          this.status('stopped');
          return result;
        }
        await new Promise(setImmediate); // let stop requests and I/O in
      }
      await runEval();
      this.progress('saving', 0, 1, 'final model');
      result.finalDir = await saveFinal(this.folder, policy, c.model, c.merge_lora);
      this.progress('saving', 1, 1);
      this.log(`done: ${state.step} step(s); final model in ${result.finalDir}`);
      this.status('completed');
      return result;
    } catch (err) {
      const explained = this.explain(err);
      this.status('failed', explained instanceof Error ? explained.message : String(explained));
      throw explained;
    } finally {
      this.dispose();
    }
  }

  /** A non-finite step becomes a warning record and a TrainingError that names the data lines. */
  private async guardedStep<T>(step: () => Promise<T>, stepNumber: number): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof NonFiniteError)) throw err;
      this.warn({ code: 'non-finite', step: stepNumber, message: err.message });
      throw new TrainingError(err.message);
    }
  }

  private async checkpoint(state: TrainerState): Promise<void> {
    this.progress('saving', 0, 1, `checkpoint at step ${state.step}`);
    const dir = await saveCheckpoint(this.folder, this.policy!, this.optimizer!, this.config.model, state, this.config.save_total_limit);
    this.log(`checkpoint: step ${state.step} -> ${dir}`);
    this.events.onCheckpoint?.(state.step, dir);
    this.progress('saving', 1, 1);
  }

  /** wasm: the run's peak estimated from config.json before loading; over the 4 GiB heap, a clear stop. */
  private preflightMemory(model: ModelConfig, longest: number): void {
    if (this.options.backend.name !== 'wasm') return;
    const c = this.config;
    const reference = c.reference_model ? readModelConfig(c.reference_model) : undefined;
    this.memoryEstimate = estimateTrainingMemory(model, reference, c, longest);
    this.log(`memory: ${describeEstimate(this.memoryEstimate)}`);
    const refusal = preflightRefusal(this.memoryEstimate, c, longest);
    // DPO_MEMORY_PREFLIGHT=warn: log instead of refusing (for measuring where the real limit is).
    if (refusal && process.env.DPO_MEMORY_PREFLIGHT === 'warn') this.log(`memory: warning: ${refusal}`);
    else if (refusal) throw new TrainingError(refusal);
  }

  /** An allocator failure (wasm's "Aborted()", an out-of-bounds trap, a failed ArrayBuffer) becomes what to change. */
  private explain(err: unknown): unknown {
    if ((err as NodeJS.ErrnoException).code) return pathError(err, this.config.output_dir);
    // A tokenizer or template that runs away names its file; "ran out of memory" in its text is not the heap's.
    if (causedByUntrustedInput(err) || !isAllocatorFailure(err)) return err;
    const c = this.config;
    const text = outOfMemoryMessage(this.options.backend.name, this.memoryEstimate, c, this.memoryEstimate?.maxLength ?? c.max_length);
    this.log(`error: ${text}`);
    return new TrainingError(text, { cause: err });
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

const warningKey = (w: { code: string; step: number; message: string }) => JSON.stringify([w.code, w.step, w.message]);
