// Where a step's reference log-probs come from: nowhere (SFT, reference-free, SimPO, ORPO: zeros), the cache of
// precomputed log-probs in the run folder (the reference weights then leave memory), or a live
// forward pass of the frozen reference model. Owns the reference model while it is loaded.
import * as path from 'node:path';
import { DpoConfig, MetricsSplit, RUN_FILES, isReferenceFreeLoss } from '../../protocol';
import { CausalLM } from '../model/transformer';
import { loadModel } from '../model/checkpoint';
import { TokenizedPair } from '../data/tokenize';
import { SequenceBatch } from '../data/batch';
import { computeSequenceLogps } from '../dpo/logps';
import { RefLogps, computeRefLogps, readRefCache, refCacheKey, writeRefCache } from '../dpo/ref-cache';
import { Split, effectiveMaxLength } from './data';
import { Report } from './report';

export class ReferenceLogps {
  private constructor(
    private readonly needed: boolean,
    private readonly model?: CausalLM,
    private readonly cached?: Record<MetricsSplit, RefLogps>,
    /** The reference is the LoRA policy with its adapters off: borrowed, never disposed here. */
    private readonly basePolicy = false,
  ) {}

  /**
   * `policy`: the policy as loaded. With LoRA adapters its base is the reference (live or
   * precomputed) when no reference_model is named; without, a fresh run's policy IS the reference
   * until its first update, so precomputing scores it instead of loading a second copy.
   */
  static async prepare(
    c: DpoConfig,
    split: Split,
    padId: number,
    maxPositions: number,
    report: Report,
    policy?: CausalLM,
    resuming = false,
  ): Promise<ReferenceLogps> {
    const loraPolicy = policy?.adapters ? policy : undefined;
    if (c.mode === 'sft' || c.reference_free || (c.mode === 'dpo' && isReferenceFreeLoss(c.loss_type))) return new ReferenceLogps(false);
    const referenceDir = c.reference_model ?? c.model;
    const base = c.reference_model ? undefined : loraPolicy;
    report.progress('loading', 0, 1, base ? `reference: ${referenceDir} (the policy with its LoRA adapters off)` : `reference model ${referenceDir}`);
    if (!c.precompute_ref_log_probs)
      return base ? new ReferenceLogps(true, base, undefined, true) : new ReferenceLogps(true, loadModel(referenceDir, { trainable: false }).model);
    const cacheDir = path.join(c.output_dir, RUN_FILES.refCache);
    const key = refCacheKey({
      referenceDir,
      tokenizerDir: c.model,
      dataFiles: [c.data, ...(c.eval_data ? [c.eval_data] : [])],
      maxLength: effectiveMaxLength(c, maxPositions),
      maxPromptLength: c.max_prompt_length,
    });
    const cached = readRefCache(cacheDir, key);
    if (cached && split.train.every((p) => cached.train.has(p.line)) && split.eval.every((p) => cached.eval.has(p.line))) {
      report.log(`reference log-probs: reusing cache ${key}`);
      return new ReferenceLogps(true, undefined, cached);
    }
    const startingPolicy = !c.reference_model && !resuming ? policy : undefined;
    const borrowed = base ?? startingPolicy;
    const reference = borrowed ?? loadModel(referenceDir, { trainable: false }).model;
    try {
      const total = split.train.length + split.eval.length;
      const { train, evalLogps } = await reference.withoutAdapters(async () => ({
        train: await computeRefLogps(reference, split.train, c.batch_size, padId, (d) => report.progress('reference', d, total)),
        evalLogps: await computeRefLogps(reference, split.eval, c.batch_size, padId, (d) => report.progress('reference', split.train.length + d, total)),
      }));
      writeRefCache(cacheDir, key, train, evalLogps);
      report.log(
        `reference log-probs: computed for ${total} pair(s), cached as ${key}${base ? ' (base model, adapters off)' : borrowed ? ' (the starting policy, no second copy)' : '; reference weights freed'}`,
      );
      return new ReferenceLogps(true, undefined, { train, eval: evalLogps });
    } finally {
      if (!borrowed) reference.dispose(); // the point of the cache: the reference leaves memory
    }
  }

  /** Summed reference log-probs of `batch`'s rows ([chosen..., rejected...]; KTO: [completions..., KL completions...]); [] for SFT. */
  async forBatch(pairs: TokenizedPair[], split: MetricsSplit, batch: SequenceBatch, mode: DpoConfig['mode']): Promise<number[]> {
    if (mode === 'sft') return [];
    if (!this.needed) return new Array(pairs.length * 2).fill(0);
    if (this.cached) {
      const map = this.cached[split];
      return [...pairs.map((p) => map.get(p.line)![0]), ...pairs.map((p) => map.get(p.line)![1])];
    }
    const model = this.model!;
    return this.basePolicy ? model.withoutAdapters(() => computeSequenceLogps(model, batch)) : computeSequenceLogps(model, batch);
  }

  dispose(): void {
    if (!this.basePolicy) this.model?.dispose();
  }
}
