// Preflight for the wasm backend's heap (at most 4 GiB, one WebAssembly memory): an estimate of a
// training run's peak from config.json alone, made before any weight is loaded, so a run that
// cannot fit stops at once with the numbers and what to change rather than minutes later with
// emscripten's "Aborted()". The same message explains an allocator failure that happens anyway.
import { DpoConfig, isReferenceFreeLoss } from '../../protocol';
import { ModelConfig, expectedWeights } from '../model/config';
import { CHUNK_FLOATS } from '../dpo/head-logps';
import { loraSettingsOf, targetedModules } from '../model/lora';
import { MomentPlacement, momentPlacementFor } from './optimizer';

export const WASM_HEAP_BYTES = 4 * 1024 ** 3;
/** Heap bytes beyond the itemised parts per byte of activations (fitted; see estimateTrainingMemory). */
const CHURN_PER_ACTIVATION_BYTE = 2.2;
/**
 * The same without recomputed blocks, where every block's backward pass runs in the one gradient
 * scope of the step, so each block's temporaries (the transposed frozen or trained weights of its
 * products, their XNNPACK packed copies, the upstream gradients) stay until the scope ends instead of
 * being freed block by block. Fitted separately (estimateTrainingMemory).
 */
const CHURN_PER_ACTIVATION_BYTE_NO_RECOMPUTE = 3.3;

export interface MemoryPart {
  what: string;
  bytes: number;
}

export interface MemoryEstimate {
  /** What the heap holds at the peak; `total` is their sum and is what must fit the heap. */
  parts: MemoryPart[];
  total: number;
  /** Held by the process outside the heap (AdamW's moments as JS arrays on wasm): RSS, not heap. */
  outsideHeap: MemoryPart[];
  /** total plus outsideHeap: the process's expected peak beyond Node's own. */
  processTotal: number;
  parameters: number;
  /** The longest sequence the estimate assumed (rows are padded to it). */
  maxLength: number;
}

export type MemoryKnobs = Pick<
  DpoConfig,
  'mode' | 'batch_size' | 'gradient_accumulation_steps' | 'reference_free' | 'precompute_ref_log_probs' | 'max_grad_norm' | 'reference_model'
> &
  Partial<Pick<DpoConfig, 'lora_r' | 'lora_alpha' | 'lora_dropout' | 'lora_target_modules' | 'gradient_checkpointing' | 'loss_type'>>;

/** SimPO and ORPO load no reference, as reference_free does not. */
const withoutReference = (c: MemoryKnobs) => c.reference_free || (c.loss_type !== undefined && isReferenceFreeLoss(c.loss_type));

/** Trainable adapter parameters under LoRA (r·(in + out) per targeted projection); 0 without LoRA or for an unknown target. */
function adapterCount(model: ModelConfig, c: MemoryKnobs): number {
  const lora = loraSettingsOf({
    lora_r: c.lora_r ?? 0,
    lora_alpha: c.lora_alpha ?? 16,
    lora_dropout: c.lora_dropout ?? 0,
    lora_target_modules: c.lora_target_modules ?? 'all-linear',
  });
  if (!lora) return 0;
  try {
    return targetedModules(model, lora.targetModules).reduce((a, m) => a + lora.r * (m.inDim + m.outDim), 0);
  } catch {
    return 0; // the trainer names the bad target itself
  }
}

export function parameterCount(model: ModelConfig): number {
  let n = 0;
  for (const shape of expectedWeights(model).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Peak bytes of one optimizer step, float32 throughout. Per parameter: the weight, the packed copy
 * XNNPACK keeps of every matrix it multiplies by, the gradient (twice while micro-batches are
 * summed), AdamW's two moments (clipping scales each gradient inside the update: no copy) -- on wasm
 * outside the heap (optimizer.ts), so they count for the process but not against the heap.
 * Activations kept for the backward pass, per token and layer: ~16 hidden-size vectors, ~5 MLP-width vectors, 3 attention rows per head. The head:
 * one chunk's logits and softmax (dpo/head-logps.ts) and the head's transposed and packed copies.
 * A live reference adds its weights and their packed copies; a precomputed one adds nothing to the
 * step (its pass runs before training, with the policy loaded only as weights). The total adds
 * the temporaries, measured as a multiple of the activations.
 */
export function estimateTrainingMemory(
  model: ModelConfig,
  reference: ModelConfig | undefined,
  c: MemoryKnobs,
  maxLength: number,
  moments: MomentPlacement = momentPlacementFor('wasm'),
): MemoryEstimate {
  const F = 4;
  const n = parameterCount(model);
  const rows = (c.mode === 'sft' ? 1 : 2) * c.batch_size;
  const tokens = rows * maxLength;
  const perTokenLayer = 16 * model.hiddenSize + 5 * model.intermediateSize + 3 * model.numHeads * maxLength;
  const gradCopies = c.gradient_accumulation_steps > 1 ? 2 : 1;
  // Under LoRA the base is frozen: gradients, clipping and AdamW exist for the adapters only.
  const lora = (c.lora_r ?? 0) > 0;
  const trained = lora ? adapterCount(model, c) : n;
  const of = lora ? 'LoRA adapter ' : '';
  const momentsPart = { what: `${of}AdamW moments${moments === 'host' ? ' (JS arrays outside the heap)' : ''}`, bytes: 2 * F * trained };
  const outsideHeap = moments === 'host' ? [momentsPart] : [];
  const activations: MemoryPart = c.gradient_checkpointing
    ? // Recomputed blocks keep their inputs; one block's activations live at a time, twice over in its backward pass.
      {
        what: `block inputs (${rows} rows x ${maxLength} tokens x ${model.numLayers} layers) and one recomputed block`,
        bytes: F * tokens * (model.numLayers * model.hiddenSize + 2 * perTokenLayer),
      }
    : { what: `activations (${rows} rows x ${maxLength} tokens x ${model.numLayers} layers)`, bytes: F * tokens * model.numLayers * perTokenLayer };
  const parts: MemoryPart[] = [
    { what: `${lora ? 'frozen base' : 'policy'} weights and their packed copies`, bytes: 2 * F * n },
    ...(lora ? [{ what: 'LoRA adapters', bytes: F * trained }] : []),
    { what: `${of}gradients${gradCopies > 1 ? ' (accumulated and current micro-batch)' : ''}`, bytes: gradCopies * F * trained },
    ...(moments === 'host' ? [] : [momentsPart]),
    activations,
    { what: 'output head chunk (logits, softmax, gradient) and head copies', bytes: F * (3 * CHUNK_FLOATS + 2 * model.vocabSize * model.hiddenSize) },
  ];
  // Under LoRA the reference is the policy with its adapters off: no second copy of the weights.
  const live = c.mode !== 'sft' && !withoutReference(c) && !c.precompute_ref_log_probs && !(lora && !c.reference_model);
  if (live) parts.push({ what: 'live reference weights and their packed copies', bytes: 2 * F * parameterCount(reference ?? model) });
  // The rest -- the backward pass's temporaries and the heap's fragmentation (it never shrinks) --
  // grows with the activations, not the weights (each weight is updated and replaced on its own).
  // Fitted on the wasm heap's size at exit (bench/RESULTS.md, 2026-11-26, moments off the heap):
  // GPT-2-small full DPO at 256 x 2, recomputed blocks, ran with the heap at 2.83 GiB (precomputed
  // reference) and 3.63 (live); out of memory without recomputed blocks, and for 4 layers d 512 at
  // 512 x 2 (live); LoRA at 512 x 2 ran with recomputed blocks (3.10 GiB RSS) and not without.
  // Every factor from 2.09 to 2.35 sorts those runs right; 2.2 is the middle.
  // Without recomputed blocks one factor cannot sort them (bench/RESULTS.md, 2026-12-03): GPT-2-small
  // LoRA r16 without them ran at 128 x 1 pair with the heap at 3.006 GiB (factor >= 3.29 to reach it)
  // and failed at 128 x 2 (> 2.49), where 2.2 admitted it at 3.78 GiB; 3.3 covers both.
  const itemised = parts.reduce((a, p) => a + p.bytes, 0);
  const factor = c.gradient_checkpointing ? CHURN_PER_ACTIVATION_BYTE : CHURN_PER_ACTIVATION_BYTE_NO_RECOMPUTE;
  const churn = Math.round(factor * activations.bytes);
  parts.push({
    what: `temporaries and allocator fragmentation (measured: ${factor}x the activations${c.gradient_checkpointing ? '' : ' without recomputed blocks'})`,
    bytes: churn,
  });
  const total = itemised + churn;
  const processTotal = total + outsideHeap.reduce((a, p) => a + p.bytes, 0);
  return { parts, total, outsideHeap, processTotal, parameters: n, maxLength };
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/** What to change, most effective first, for a run whose estimate is over the heap. */
function advice(c: MemoryKnobs, maxLength: number): string {
  const tips: string[] = [];
  if (c.batch_size > 1)
    tips.push(`batch_size 1 (with gradient_accumulation_steps ${c.batch_size * c.gradient_accumulation_steps} for the same pairs per step)`);
  if (maxLength > 128) tips.push(`a smaller max_length (the longest sequence is ${maxLength} tokens)`);
  if (!c.gradient_checkpointing) tips.push('gradient_checkpointing: true (each block is recomputed in the backward pass: activations for one block, not all)');
  if ((c.lora_r ?? 0) === 0 && c.mode === 'dpo')
    tips.push('LoRA (lora_r 16: the base freezes, so no gradients or AdamW moments for it, and the reference is the base itself)');
  if (c.mode === 'dpo' && !withoutReference(c) && !c.precompute_ref_log_probs && !((c.lora_r ?? 0) > 0 && !c.reference_model))
    tips.push('precompute_ref_log_probs: true (the reference leaves memory before training)');
  tips.push('a smaller model', 'the PyTorch engine (engine: torch) or the tfjs-node backend, which are not bound by the 4 GiB heap');
  return `Try ${tips.join('; ')}.`;
}

/** The estimate as one line: total, the heap, and the parts largest first. */
export function describeEstimate(e: MemoryEstimate): string {
  const parts = [...e.parts].sort((a, b) => b.bytes - a.bytes).map((p) => `${p.what} ${gib(p.bytes)}`);
  const outside = e.outsideHeap.map((p) => `${p.what} ${gib(p.bytes)}`);
  const process = outside.length ? `; outside the heap, ${outside.join(', ')}: ${gib(e.processTotal)} for the process` : '';
  return `estimated peak ${gib(e.total)} for ${e.parameters.toLocaleString('en-US')} parameters (${parts.join(', ')}${process})`;
}

/** The refusal for a run estimated over the heap, or undefined when it fits. */
export function preflightRefusal(e: MemoryEstimate, c: MemoryKnobs, maxLength: number, heap = WASM_HEAP_BYTES): string | undefined {
  if (e.total <= heap) return undefined;
  return `this run does not fit the wasm backend's memory: ${describeEstimate(e)}, over the ${gib(heap)} heap. ${advice(c, maxLength)}`;
}

/**
 * emscripten's abort, V8's failed ArrayBuffer allocation or wasm memory growth, a failed malloc
 * (wasm-heap.ts), XNNPACK's out-of-memory status (tfjs prints "XNN status for xnn_create_… Got
 * status 6" and goes on with no operator), and the wasm traps seen when a kernel goes on after a
 * failed allocation (measured at the heap's edge: "memory access out of bounds" for a 1-layer
 * d-768 model, "table index is out of bounds" for GPT-2-small at 256 tokens). The cause chain is
 * searched too: a wrapper's message may not repeat it.
 */
export function isAllocatorFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (ALLOCATOR_FAILURE.test(message)) return true;
    if (!(e instanceof Error)) break;
  }
  return false;
}

const ALLOCATOR_FAILURE =
  /^Aborted\(|memory access out of bounds|table index is out of bounds|Array buffer allocation failed|Invalid typed array length|Cannot enlarge memory|Out of memory|XNN status .*status 6|Maximum memory size exceeded|could not allocate memory/i;

/** The message an allocator failure becomes, with the preflight's numbers when they were made. */
export function outOfMemoryMessage(backend: string, e: MemoryEstimate | undefined, c: MemoryKnobs, maxLength: number): string {
  const limit = backend === 'wasm' ? `its heap is at most ${gib(WASM_HEAP_BYTES)}` : 'an allocation failed';
  const numbers = e ? ` The ${describeEstimate(e)}.` : '';
  return `the ${backend} backend ran out of memory (${limit}).${numbers} ${advice(c, maxLength)} The last checkpoint stands.`;
}
