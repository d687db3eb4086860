// The decoder-only transformer (GPT-2 and the Llama block with its variants: Qwen2/3, Mistral,
// Phi-3, Gemma 2/3) over weights held by their Hugging Face names. Forward only: losses and
// log-probs live in dpo/, checkpoint I/O in checkpoint.ts.
import * as tf from '@tensorflow/tfjs';
import { ModelConfig, expectedWeights, embeddingName, headName } from './config';
import { applyRope, conv1d, gatherRows, geluNew, layerNorm, linear, matmul, matmulWeightT, rmsNorm, silu, softcap } from './ops';
import { ropeTablesFor } from './rope';
import { frozenConv1d, frozenLinear } from './frozen-ops';
import type { LoraAdapters } from './lora';
import { recomputed } from './recompute';
import { splitHeadsParts } from './split-heads';
import { fusedAttention } from '../kernels/attention';

/** Large negative additive mask; -Infinity would turn fully masked rows (none here) into NaN. */
const MASK_VALUE = -1e9;

let nextModelId = 0;

/** Keys and values of one layer for the positions seen so far: [B, KV, T, hd] each. */
export interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/** Per-forward state shared by the blocks. */
interface ForwardContext {
  /** Position of the first input token (the number of cached positions). */
  pos: number;
  mask: tf.Tensor2D;
  /** Masks of sliding-window layers, by window size. */
  windowMasks: Map<number, tf.Tensor2D>;
  rope?: { cos: tf.Tensor2D; sin: tf.Tensor2D };
  /** Gemma 3's sliding-window layers rotate with their own base frequency. */
  localRope?: { cos: tf.Tensor2D; sin: tf.Tensor2D };
  past?: LayerCache[];
  /** Filled with each layer's keys and values when the caller wants a cache back. */
  present?: LayerCache[];
}

export interface WeightData {
  shape: number[];
  data: Float32Array;
}

export class CausalLM {
  /** Weights by Hugging Face name. Variables so that the optimizer can update them in place. */
  readonly weights = new Map<string, tf.Variable>();
  private readonly rope?: { cos: tf.Tensor2D; sin: tf.Tensor2D };
  private readonly localRope?: { cos: tf.Tensor2D; sin: tf.Tensor2D };
  /** Recompute each block in the backward pass instead of keeping its activations (recompute.ts). */
  recomputeBlocks = false;
  /** LoRA adapters on a frozen base (lora.ts); owned by the model once attached. */
  private lora?: LoraAdapters;
  private disposed = false;

  constructor(
    readonly config: ModelConfig,
    weights: Map<string, WeightData>,
    readonly trainable = true,
  ) {
    // tfjs variable names are global; a per-model prefix lets policy and reference coexist.
    const prefix = `m${nextModelId++}/`;
    for (const [name, shape] of expectedWeights(config)) {
      const w = weights.get(name);
      if (!w) throw new Error(`missing weight '${name}'`);
      if (w.shape.join(',') !== shape.join(',')) throw new Error(`weight '${name}' has shape [${w.shape}] but the config needs [${shape}]`);
      const initial = tf.tensor(w.data, w.shape, 'float32');
      this.weights.set(name, tf.variable(initial, trainable, prefix + name));
      initial.dispose(); // the variable holds its own reference to the data
    }
    if (config.family === 'llama') {
      const tables = (theta: number, scaling = config.ropeScaling) => {
        const { cos, sin } = ropeTablesFor({ theta, scaling }, config.maxPositions, config.headDim);
        return { cos: tf.tensor2d(cos, [config.maxPositions, config.headDim]), sin: tf.tensor2d(sin, [config.maxPositions, config.headDim]) };
      };
      this.rope = tables(config.ropeTheta);
      if (config.localRopeTheta !== undefined) this.localRope = tables(config.localRopeTheta, undefined);
    }
  }

  private w<R extends tf.Rank = tf.Rank>(name: string): tf.Tensor<R> {
    const v = this.weights.get(name);
    if (!v) throw new Error(`no weight '${name}'`);
    return v as unknown as tf.Tensor<R>;
  }

  /** The output projection [V, D] (the embedding matrix when tied). */
  headWeight(): tf.Tensor2D {
    return this.w<tf.Rank.R2>(headName(this.config));
  }

  /** Adds LoRA adapters to a frozen model: from then on they are what trains. */
  attachLora(adapters: LoraAdapters): void {
    if (this.trainable) throw new Error('LoRA needs a frozen base: load the model with trainable: false');
    this.lora?.dispose();
    this.lora = adapters;
  }

  get adapters(): LoraAdapters | undefined {
    return this.lora;
  }

  /** What the optimizer updates, by name: the adapters under LoRA (PEFT names), else every weight. */
  trainableWeights(): Map<string, tf.Variable> {
    if (this.lora) return this.lora.variables;
    return this.trainable ? this.weights : new Map();
  }

  trainableVariables(): tf.Variable[] {
    return [...this.trainableWeights().values()];
  }

  /** Runs `f` on the base model alone (adapters off): the DPO reference under LoRA, without a second copy of the weights. */
  async withoutAdapters<T>(f: () => Promise<T>): Promise<T> {
    if (!this.lora) return f();
    const lora = this.lora;
    lora.enabled = false;
    try {
      return await f();
    } finally {
      lora.enabled = true;
    }
  }

  /** Parameters of the base model (the adapters are counted by adapters.numParameters()). */
  numParameters(): number {
    let n = 0;
    for (const v of this.weights.values()) n += v.size;
    return n;
  }

  /** GPT-2's Conv1D module `path` (weight [in, out] and bias) on x, plus its adapter's term. */
  private conv(x: tf.Tensor, path: string): tf.Tensor {
    const project = this.trainable ? conv1d : frozenConv1d;
    return this.plusAdapter(project(x, this.w(`${path}.weight`), this.w(`${path}.bias`)), path, x);
  }

  /** nn.Linear module `path` (weight [out, in], optional bias) on x, plus its adapter's term. */
  private lin(x: tf.Tensor, path: string, withBias = false): tf.Tensor {
    const project = this.trainable ? linear : frozenLinear;
    return this.plusAdapter(project(x, this.w(`${path}.weight`), withBias ? this.w(`${path}.bias`) : undefined), path, x);
  }

  private plusAdapter(y: tf.Tensor, path: string, x: tf.Tensor): tf.Tensor {
    const delta = this.lora?.delta(path, x);
    return delta ? tf.add(y, delta) : y;
  }

  /** Logits after Gemma 2's final soft-capping (identity for the other families). */
  capLogits<T extends tf.Tensor>(logits: T): T {
    return softcap(logits, this.config.finalSoftcap) as T;
  }

  /**
   * Additive causal mask [rep*Tq, past+Tq]: query j (at position past+j) sees keys up to past+j,
   * and with a sliding window only the last `window` of them (transformers: q - k < window).
   * Made per forward pass rather than cached per length, so the tensor count does not grow with
   * every new sequence length (it is rep·Tq·Tk floats, cheap to build).
   */
  private causalMask(Tq: number, past: number, rep: number, window = 0): tf.Tensor2D {
    const Tk = past + Tq;
    const data = new Float32Array(rep * Tq * Tk);
    for (let r = 0; r < rep; r++) {
      for (let j = 0; j < Tq; j++) {
        const row = (r * Tq + j) * Tk;
        data.fill(MASK_VALUE, row + past + j + 1, row + Tk);
        if (window > 0) data.fill(MASK_VALUE, row, row + Math.max(0, past + j - window + 1));
      }
    }
    return tf.tensor2d(data, [rep * Tq, Tk]);
  }

  /**
   * Causal self-attention. q: [B, H, T, hd]; k, v: [B, KV, T, hd] with H = KV * rep.
   * Query heads that share a key/value head are folded into the row dimension, so grouped-query
   * attention needs no copy of k and v (HF's repeat_kv gives head h the kv head h // rep).
   */
  private attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D, window = 0): tf.Tensor3D {
    // Our fused kernel on wasm/cpu (kernels/attention.ts) where it applies; tfjs ops otherwise.
    const fused = fusedAttention(q, k, v, { scale: this.config.queryScale, window, softcap: this.config.attnSoftcap });
    if (fused) return fused;
    const [B, H, T, hd] = q.shape;
    const KV = k.shape[1];
    const rep = H / KV;
    const qg = tf.reshape(q, [B, KV, rep * T, hd]); // [B, KV, rep*T, hd]
    let scores = matmul(qg, k, false, true); // [B, KV, rep*T, Tk]
    scores = tf.add(softcap(tf.mul(scores, this.config.queryScale), this.config.attnSoftcap), mask);
    const probs = tf.softmax(scores, -1);
    const out = matmul(probs, v); // [B, KV, rep*T, hd]
    const heads = tf.transpose(tf.reshape(out, [B, H, T, hd]), [0, 2, 1, 3]); // [B, T, H, hd]
    return tf.reshape(heads, [B, T, H * hd]);
  }

  private splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
    const [B, T] = x.shape;
    return tf.transpose(tf.reshape(x, [B, T, heads, this.config.headDim]), [0, 2, 1, 3]); // [B, heads, T, hd]
  }

  /** Prepends layer i's cached keys/values and records the result when a cache is wanted. */
  private withCache(i: number, k: tf.Tensor4D, v: tf.Tensor4D, ctx: ForwardContext): [tf.Tensor4D, tf.Tensor4D] {
    const past = ctx.past?.[i];
    if (past) {
      k = tf.concat([past.k, k], 2); // [B, KV, past+Tq, hd]
      v = tf.concat([past.v, v], 2);
    }
    ctx.present?.push({ k, v });
    return [k, v];
  }

  private gpt2Block(x: tf.Tensor3D, i: number, ctx: ForwardContext): tf.Tensor3D {
    const c = this.config;
    const p = `transformer.h.${i}.`;
    const a = layerNorm(x, this.w(`${p}ln_1.weight`), this.w(`${p}ln_1.bias`), c.normEps);
    const qkv = this.conv(a, `${p}attn.c_attn`); // [B, T, 3D]
    const [q, k, v] = splitHeadsParts(qkv as tf.Tensor3D, 3, c.numHeads, c.headDim); // [B, H, T, hd] each
    const [kAll, vAll] = this.withCache(i, k, v, ctx);
    const att = this.attend(q, kAll, vAll, ctx.mask);
    x = tf.add(x, this.conv(att, `${p}attn.c_proj`));
    const m = layerNorm(x, this.w(`${p}ln_2.weight`), this.w(`${p}ln_2.bias`), c.normEps);
    const h = geluNew(this.conv(m, `${p}mlp.c_fc`));
    return tf.add(x, this.conv(h, `${p}mlp.c_proj`));
  }

  private norm(x: tf.Tensor, name: string): tf.Tensor {
    return rmsNorm(x, this.w(name), this.config.normEps, this.config.gemmaNorms);
  }

  /** q [B, T, H*hd], k and v [B, T, KV*hd]: separate projections, or Phi-3's fused qkv_proj. */
  private qkv(a: tf.Tensor, p: string): tf.Tensor[] {
    const c = this.config;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    if (c.fusedProjections) return tf.split(this.lin(a, `${p}qkv_proj`), [qDim, kvDim, kvDim], -1);
    return ['q_proj', 'k_proj', 'v_proj'].map((n) => this.lin(a, `${p}${n}`, c.attentionBias));
  }

  /** gate and up [B, T, I]: separate, or Phi-3's fused gate_up_proj (gate first). */
  private gateUp(m: tf.Tensor, p: string): tf.Tensor[] {
    if (this.config.fusedProjections) return tf.split(this.lin(m, `${p}gate_up_proj`), 2, -1);
    return [this.lin(m, `${p}gate_proj`), this.lin(m, `${p}up_proj`)];
  }

  private llamaBlock(x: tf.Tensor3D, i: number, ctx: ForwardContext): tf.Tensor3D {
    const c = this.config;
    const l = `model.layers.${i}.`;
    const p = `${l}self_attn.`;
    const window = c.layerWindows[i];
    const rope = window > 0 && ctx.localRope ? ctx.localRope : ctx.rope!;
    const a = this.norm(x, `${l}input_layernorm.weight`);
    const [qFlat, kFlat, vFlat] = this.qkv(a, p);
    let q = this.splitHeads(qFlat, c.numHeads);
    let k = this.splitHeads(kFlat, c.numKvHeads);
    if (c.qkNorm) {
      q = this.norm(q, `${p}q_norm.weight`) as tf.Tensor4D; // over each head's hd values
      k = this.norm(k, `${p}k_norm.weight`) as tf.Tensor4D;
    }
    q = applyRope(q, rope.cos, rope.sin);
    const [kAll, vAll] = this.withCache(i, applyRope(k, rope.cos, rope.sin), this.splitHeads(vFlat, c.numKvHeads), ctx);
    const mask = window > 0 ? ctx.windowMasks.get(window)! : ctx.mask;
    let attnOut = this.lin(this.attend(q, kAll, vAll, mask, window), `${p}o_proj`, c.outputBias);
    // Gemma normalises each sublayer's output too ("sandwich"), and names its norms differently.
    if (c.sandwichNorms) attnOut = this.norm(attnOut, `${l}post_attention_layernorm.weight`);
    x = tf.add(x, attnOut);
    const m = this.norm(x, c.sandwichNorms ? `${l}pre_feedforward_layernorm.weight` : `${l}post_attention_layernorm.weight`);
    const [gate, up] = this.gateUp(m, `${l}mlp.`);
    const act = c.hiddenAct === 'silu' ? silu(gate) : geluNew(gate);
    let mlpOut = this.lin(tf.mul(act, up), `${l}mlp.down_proj`);
    if (c.sandwichNorms) mlpOut = this.norm(mlpOut, `${l}post_feedforward_layernorm.weight`);
    return tf.add(x, mlpOut);
  }

  /** Final hidden states [B, T, D] (after the last norm) for token ids [B, T], positions 0..T-1. */
  hidden(ids: tf.Tensor2D): tf.Tensor3D {
    return this.forward(ids, 0).hidden;
  }

  /**
   * Incremental decoding: hidden states of `ids` [B, Tq] at positions pos..pos+Tq-1, attending to
   * `past` (the keys and values of positions 0..pos-1), and the cache extended by these positions.
   * The caller owns the returned cache (keep it out of tidy scopes, dispose the old one).
   */
  forwardCached(ids: tf.Tensor2D, past: LayerCache[] | undefined): { hidden: tf.Tensor3D; cache: LayerCache[] } {
    const pos = past?.[0]?.k.shape[2] ?? 0;
    const present: LayerCache[] = [];
    const { hidden } = this.forward(ids, pos, past, present);
    return { hidden, cache: present };
  }

  private forward(ids: tf.Tensor2D, pos: number, past?: LayerCache[], present?: LayerCache[]): { hidden: tf.Tensor3D } {
    if (this.disposed) throw new Error('model was disposed');
    const c = this.config;
    const [B, T] = ids.shape;
    if (pos + T > c.maxPositions) throw new Error(`sequence length ${pos + T} exceeds the model's ${c.maxPositions} positions`);
    const flatIds = tf.reshape(ids, [B * T]) as tf.Tensor1D;
    let x = tf.reshape(gatherRows(this.w(embeddingName(c)), flatIds), [B, T, c.hiddenSize]) as tf.Tensor3D; // [B, T, D]
    const rep = c.numHeads / c.numKvHeads;
    const windowMasks = new Map<number, tf.Tensor2D>();
    for (const w of c.layerWindows) if (w > 0 && !windowMasks.has(w)) windowMasks.set(w, this.causalMask(T, pos, rep, w));
    const ctx: ForwardContext = { pos, mask: this.causalMask(T, pos, rep), windowMasks, past, present };
    // Each block in its own tidy: what a block's backward pass needs is kept by the gradient tape
    // (kernels save kept clones), everything else goes when the block ends, so a forward pass
    // without gradients holds one block's intermediates, not the whole model's. Not with a KV
    // cache: the blocks put their keys and values in `present`.
    const run = (i: number, f: (x: tf.Tensor3D, i: number, ctx: ForwardContext) => tf.Tensor3D) => {
      const xi = x;
      if (present) return f(xi, i, ctx);
      if (!this.recomputeBlocks) return tf.tidy(() => f(xi, i, ctx));
      return tf.tidy(() => recomputed((xx, kept) => f(xx, i, withContext(ctx, kept)), xi, contextTensors(ctx), this.blockVariables(i)));
    };
    if (c.family === 'gpt2') {
      x = tf.add(x, tf.slice(this.w<tf.Rank.R2>('transformer.wpe.weight'), [pos, 0], [T, c.hiddenSize]));
      for (let i = 0; i < c.numLayers; i++) x = run(i, (xx, j, cx) => this.gpt2Block(xx, j, cx));
      return { hidden: layerNorm(x, this.w('transformer.ln_f.weight'), this.w('transformer.ln_f.bias'), c.normEps) as tf.Tensor3D };
    }
    const slice = (r: { cos: tf.Tensor2D; sin: tf.Tensor2D }) => ({
      cos: tf.slice(r.cos, [pos, 0], [T, c.headDim]),
      sin: tf.slice(r.sin, [pos, 0], [T, c.headDim]),
    });
    ctx.rope = slice(this.rope!);
    if (this.localRope) ctx.localRope = slice(this.localRope);
    // Gemma scales embeddings by √D (in the weights' dtype: float32 here, as transformers).
    if (c.gemmaNorms) x = tf.mul(x, Math.fround(Math.sqrt(c.hiddenSize)));
    for (let i = 0; i < c.numLayers; i++) x = run(i, (xx, j, cx) => this.llamaBlock(xx, j, cx));
    return { hidden: this.norm(x, 'model.norm.weight') as tf.Tensor3D };
  }

  /** The trainable tensors block i reads: its weights, or under LoRA its adapters. */
  private blockVariables(i: number): tf.Variable[] {
    const prefix = this.config.family === 'gpt2' ? `transformer.h.${i}.` : `model.layers.${i}.`;
    return [...this.trainableWeights()].filter(([name]) => name.includes(prefix)).map(([, v]) => v);
  }

  /** Logits [B, T, V], for generation and tests (dpo/logps.ts scores targets without the reshape). */
  logits(ids: tf.Tensor2D): tf.Tensor3D {
    const h = this.hidden(ids);
    const [B, T, D] = h.shape;
    const logits = this.capLogits(matmulWeightT(tf.reshape(h, [B * T, D]) as tf.Tensor2D, this.headWeight())); // [B*T, V]
    return tf.reshape(logits, [B, T, this.config.vocabSize]);
  }

  /** Current weights as float32 arrays by Hugging Face name (for saving and comparison). */
  async readWeights(): Promise<Map<string, WeightData>> {
    const out = new Map<string, WeightData>();
    for (const [name, v] of this.weights) out.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.weights.values()) v.dispose();
    this.lora?.dispose();
    tf.dispose([this.rope?.cos, this.rope?.sin, this.localRope?.cos, this.localRope?.sin].filter((t) => t !== undefined));
  }
}

/** The tensors of a forward context a recomputed block needs again in the backward pass, in a fixed order. */
function contextTensors(ctx: ForwardContext): tf.Tensor[] {
  const rope = (r?: { cos: tf.Tensor2D; sin: tf.Tensor2D }) => (r ? [r.cos, r.sin] : []);
  return [ctx.mask, ...ctx.windowMasks.values(), ...rope(ctx.rope), ...rope(ctx.localRope)];
}

/** `ctx` with its tensors replaced by `kept` (contextTensors' order). */
function withContext(ctx: ForwardContext, kept: tf.Tensor[]): ForwardContext {
  let k = 0;
  const next = <T extends tf.Tensor>() => kept[k++] as T;
  const mask = next<tf.Tensor2D>();
  const windowMasks = new Map([...ctx.windowMasks.keys()].map((w) => [w, next<tf.Tensor2D>()] as const));
  const rope = ctx.rope ? { cos: next<tf.Tensor2D>(), sin: next<tf.Tensor2D>() } : undefined;
  const localRope = ctx.localRope ? { cos: next<tf.Tensor2D>(), sin: next<tf.Tensor2D>() } : undefined;
  return { ...ctx, mask, windowMasks, rope, localRope };
}
