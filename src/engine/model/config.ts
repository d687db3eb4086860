// Hugging Face `config.json` -> the normalised architecture description the transformer is built
// from. Only decoder-only families we implement are accepted; anything else is a clear error.
// Reads both config layouts: transformers 4's rope_theta/rope_scaling and 5's rope_parameters.
import { RopeScaling, parseRopeScaling } from './rope';

export type ModelFamily = 'gpt2' | 'llama';

export interface ModelConfig {
  family: ModelFamily;
  /** The `architectures[0]` / `model_type` the checkpoint declared, kept for messages and saving. */
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); equals numHeads for GPT-2 and plain multi-head. */
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  normEps: number;
  tieWordEmbeddings: boolean;
  /** Llama family: RoPE base frequency. */
  ropeTheta: number;
  /** Llama family: q/k/v projections carry biases (Qwen2, or Llama's `attention_bias`). */
  attentionBias: boolean;
  /** o_proj carries a bias too (Llama, Qwen3 and Gemma with `attention_bias`; never Qwen2). */
  outputBias: boolean;
  /** Llama family: RoPE frequency scaling of the full-attention layers (Llama 3.1's, linear). */
  ropeScaling?: RopeScaling;
  /** Gemma 3: RoPE base of the sliding-window layers (they use no scaling). */
  localRopeTheta?: number;
  /** Qwen3, Gemma 3: RMSNorm over each head's queries and keys before RoPE (q_norm, k_norm). */
  qkNorm: boolean;
  /** Phi-3: q/k/v in one qkv_proj and gate/up in one gate_up_proj. */
  fusedProjections: boolean;
  /** Gemma 2/3: norms scale by (1 + w), embeddings are multiplied by √hidden_size. */
  gemmaNorms: boolean;
  /** Gemma 2/3: extra norms after attention and around the MLP (post_attention, pre/post_feedforward). */
  sandwichNorms: boolean;
  /** The MLP's activation: SiLU (Llama) or tanh-approximated GELU (Gemma's gelu_pytorch_tanh). */
  hiddenAct: 'silu' | 'gelu_tanh';
  /** Multiplies q·k: 1/√head_dim, or Gemma's query_pre_attn_scalar^-½. */
  queryScale: number;
  /** Gemma 2: attention scores become cap·tanh(s/cap) before the mask. */
  attnSoftcap?: number;
  /** Gemma 2: logits become cap·tanh(z/cap). */
  finalSoftcap?: number;
  /** Per layer: its sliding window in tokens (a query sees itself and window-1 keys back), or 0 for all. */
  layerWindows: number[];
  bosTokenId?: number;
  eosTokenId?: number;
  /** The config.json as read, written back on save with only what training changes. */
  raw: Record<string, unknown>;
  /** Keys whose integral values config.json wrote as floats (30.0), kept so on save (config-json.ts). */
  floatKeys?: string[];
}

/** Decoder-only families built from the Llama block, by architecture and by model_type. */
const LLAMA_ARCHITECTURES: Record<string, string> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  MistralForCausalLM: 'mistral',
  Phi3ForCausalLM: 'phi3',
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3_text',
};
export const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', ...Object.keys(LLAMA_ARCHITECTURES)];

export class ModelConfigError extends Error {}

function num(raw: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ModelConfigError(`${file}: missing field '${key}'`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelConfigError(`${file}: field '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** Norm epsilons and RoPE's base must be > 0: 0 or -1 gives NaN activations that look like bad data. */
function positive(raw: Record<string, unknown>, key: string, file: string, fallback: number): number {
  const v = num(raw, key, file, fallback);
  if (v <= 0) throw new ModelConfigError(`${file}: field '${key}' must be > 0, got ${v}`);
  return v;
}

function posInt(raw: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = num(raw, key, file, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new ModelConfigError(`${file}: field '${key}' must be a positive integer, got ${v}`);
  return v;
}

function optionalId(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

/** Validates a parsed config.json; `file` is used in every message. */
export function parseModelConfig(raw: Record<string, unknown>, file = 'config.json'): ModelConfig {
  const archs = raw.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  const modelType = typeof raw.model_type === 'string' ? raw.model_type : undefined;
  const isGpt2 = arch === 'GPT2LMHeadModel' || (!arch && modelType === 'gpt2');
  const llamaTypes = Object.values(LLAMA_ARCHITECTURES);
  const isLlama = (arch !== undefined && arch in LLAMA_ARCHITECTURES) || (!arch && llamaTypes.includes(modelType ?? ''));
  if (!isGpt2 && !isLlama) {
    throw new ModelConfigError(
      `${file}: unsupported architecture ${JSON.stringify(arch ?? modelType ?? null)}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    );
  }
  if (isGpt2) {
    const hiddenSize = posInt(raw, 'n_embd', file);
    const numHeads = posInt(raw, 'n_head', file);
    if (hiddenSize % numHeads !== 0) throw new ModelConfigError(`${file}: n_embd ${hiddenSize} is not divisible by n_head ${numHeads}`);
    const act = raw.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new') throw new ModelConfigError(`${file}: activation_function ${JSON.stringify(act)} is not supported (only gelu_new)`);
    if (raw.scale_attn_by_inverse_layer_idx === true || raw.reorder_and_upcast_attn === true) {
      throw new ModelConfigError(`${file}: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported`);
    }
    return {
      family: 'gpt2',
      architecture: arch ?? 'GPT2LMHeadModel',
      vocabSize: posInt(raw, 'vocab_size', file),
      hiddenSize,
      numLayers: posInt(raw, 'n_layer', file),
      numHeads,
      numKvHeads: numHeads,
      headDim: hiddenSize / numHeads,
      intermediateSize: raw.n_inner == null ? 4 * hiddenSize : posInt(raw, 'n_inner', file),
      maxPositions: posInt(raw, 'n_positions', file, 1024),
      normEps: positive(raw, 'layer_norm_epsilon', file, 1e-5),
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
      ropeTheta: 0,
      attentionBias: true,
      outputBias: true,
      qkNorm: false,
      fusedProjections: false,
      gemmaNorms: false,
      sandwichNorms: false,
      hiddenAct: 'silu',
      queryScale: 1 / Math.sqrt(hiddenSize / numHeads),
      layerWindows: new Array(posInt(raw, 'n_layer', file)).fill(0),
      bosTokenId: optionalId(raw.bos_token_id),
      eosTokenId: optionalId(raw.eos_token_id),
      raw,
    };
  }
  const hiddenSize = posInt(raw, 'hidden_size', file);
  const numHeads = posInt(raw, 'num_attention_heads', file);
  const numKvHeads = posInt(raw, 'num_key_value_heads', file, numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ModelConfigError(`${file}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const headDim = raw.head_dim == null ? hiddenSize / numHeads : posInt(raw, 'head_dim', file);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new ModelConfigError(`${file}: head dimension ${headDim} must be an even integer for RoPE`);
  const architecture = arch ?? Object.keys(LLAMA_ARCHITECTURES).find((a) => LLAMA_ARCHITECTURES[a] === modelType)!;
  const kind = LLAMA_ARCHITECTURES[architecture];
  const gemma = kind === 'gemma2' || kind === 'gemma3_text';
  const act = raw.hidden_activation ?? raw.hidden_act ?? (gemma ? 'gelu_pytorch_tanh' : 'silu');
  const acts: Record<string, ModelConfig['hiddenAct']> = { silu: 'silu', gelu_pytorch_tanh: 'gelu_tanh', gelu_new: 'gelu_tanh' };
  if (typeof act !== 'string' || !(act in acts))
    throw new ModelConfigError(`${file}: hidden_act ${JSON.stringify(act)} is not supported (only ${Object.keys(acts).join(', ')})`);
  if (raw.mlp_bias === true) throw new ModelConfigError(`${file}: mlp_bias is not supported`);
  const numLayers = posInt(raw, 'num_hidden_layers', file);
  const maxPositions = posInt(raw, 'max_position_embeddings', file, 2048);
  const rope = readRope(raw, file, maxPositions, kind);
  if (!(rope.theta > 0)) throw new ModelConfigError(`${file}: field 'rope_theta' must be > 0, got ${rope.theta}`);
  const softcap = (key: string) => (raw[key] == null ? undefined : num(raw, key, file));
  return {
    family: 'llama',
    architecture,
    vocabSize: posInt(raw, 'vocab_size', file),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: posInt(raw, 'intermediate_size', file),
    maxPositions,
    normEps: positive(raw, 'rms_norm_eps', file, 1e-6),
    // Gemma ties by default (its configs often omit the field); the others untie by default.
    tieWordEmbeddings: gemma ? raw.tie_word_embeddings !== false : raw.tie_word_embeddings === true,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    localRopeTheta: rope.localTheta,
    // Mistral and Phi-3 have no attention biases whatever the config says; Qwen2 always has q/k/v ones.
    attentionBias: kind === 'qwen2' || (raw.attention_bias === true && kind !== 'mistral' && kind !== 'phi3'),
    outputBias: raw.attention_bias === true && !['qwen2', 'mistral', 'phi3'].includes(kind),
    qkNorm: kind === 'qwen3' || kind === 'gemma3_text',
    fusedProjections: kind === 'phi3',
    gemmaNorms: gemma,
    sandwichNorms: gemma,
    hiddenAct: acts[act],
    queryScale: gemma ? num(raw, 'query_pre_attn_scalar', file, headDim) ** -0.5 : 1 / Math.sqrt(headDim),
    attnSoftcap: kind === 'gemma2' ? softcap('attn_logit_softcapping') : undefined,
    finalSoftcap: kind === 'gemma2' || kind === 'gemma3_text' ? softcap('final_logit_softcapping') : undefined,
    layerWindows: layerWindows(raw, file, numLayers, kind),
    bosTokenId: optionalId(raw.bos_token_id),
    eosTokenId: optionalId(raw.eos_token_id),
    raw,
  };
}

/** RoPE base and scaling from transformers 5's rope_parameters (flat, or per layer type) or 4's fields. */
function readRope(
  raw: Record<string, unknown>,
  file: string,
  maxPositions: number,
  kind: string,
): { theta: number; scaling?: RopeScaling; localTheta?: number } {
  const params = raw.rope_parameters as Record<string, Record<string, unknown>> | null | undefined;
  const nested = params != null && typeof params.full_attention === 'object';
  const full = (nested ? params!.full_attention : params) as Record<string, unknown> | null | undefined;
  const local = nested ? (params!.sliding_attention as Record<string, unknown> | undefined) : undefined;
  const theta = typeof full?.rope_theta === 'number' ? full.rope_theta : num(raw, 'rope_theta', file, 10000);
  const partial = full?.partial_rotary_factor ?? raw.partial_rotary_factor;
  if (partial != null && partial !== 1) throw new ModelConfigError(`${file}: partial_rotary_factor ${JSON.stringify(partial)} is not supported (only 1.0)`);
  let scaling: RopeScaling | undefined;
  try {
    scaling = parseRopeScaling(full ?? (raw.rope_scaling as Record<string, unknown> | null | undefined), maxPositions);
    if (local && parseRopeScaling(local, maxPositions)) throw new Error('rope scaling on sliding-window layers is not supported');
  } catch (err) {
    throw new ModelConfigError(`${file}: ${(err as Error).message}`);
  }
  let localTheta: number | undefined;
  if (kind === 'gemma3_text') localTheta = typeof local?.rope_theta === 'number' ? local.rope_theta : num(raw, 'rope_local_base_freq', file, 10000);
  return { theta, scaling, localTheta };
}

/** Sliding windows per layer: layer_types when given, else each family's own rule (as transformers). */
function layerWindows(raw: Record<string, unknown>, file: string, numLayers: number, kind: string): number[] {
  const window = raw.sliding_window == null ? 0 : posInt(raw, 'sliding_window', file);
  const types = raw.layer_types;
  if (Array.isArray(types)) {
    if (types.length !== numLayers) throw new ModelConfigError(`${file}: layer_types has ${types.length} entries for ${numLayers} layers`);
    return types.map((t, i) => {
      if (t === 'full_attention') return 0;
      if (t === 'sliding_attention') {
        if (!window) throw new ModelConfigError(`${file}: layer ${i} is sliding_attention but sliding_window is not set`);
        return window;
      }
      throw new ModelConfigError(`${file}: layer_types[${i}] ${JSON.stringify(t)} is not supported (full_attention, sliding_attention)`);
    });
  }
  if (!window || raw.use_sliding_window === false) return new Array(numLayers).fill(0);
  if (kind === 'gemma2') return Array.from({ length: numLayers }, (_, i) => (i % 2 === 0 ? window : 0));
  if (kind === 'gemma3_text') {
    const pattern = (raw.sliding_window_pattern ?? raw._sliding_window_pattern ?? 6) as number;
    return Array.from({ length: numLayers }, (_, i) => ((i + 1) % pattern === 0 ? 0 : window));
  }
  return new Array(numLayers).fill(window);
}

/** Every weight the model needs, by its Hugging Face name, with its shape. */
export function expectedWeights(c: ModelConfig): Map<string, number[]> {
  const w = new Map<string, number[]>();
  const D = c.hiddenSize;
  if (c.family === 'gpt2') {
    w.set('transformer.wte.weight', [c.vocabSize, D]);
    w.set('transformer.wpe.weight', [c.maxPositions, D]);
    for (let i = 0; i < c.numLayers; i++) {
      const p = `transformer.h.${i}.`;
      w.set(`${p}ln_1.weight`, [D]).set(`${p}ln_1.bias`, [D]);
      // Conv1D layout: weight is [in, out], y = x W + b.
      w.set(`${p}attn.c_attn.weight`, [D, 3 * D]).set(`${p}attn.c_attn.bias`, [3 * D]);
      w.set(`${p}attn.c_proj.weight`, [D, D]).set(`${p}attn.c_proj.bias`, [D]);
      w.set(`${p}ln_2.weight`, [D]).set(`${p}ln_2.bias`, [D]);
      w.set(`${p}mlp.c_fc.weight`, [D, c.intermediateSize]).set(`${p}mlp.c_fc.bias`, [c.intermediateSize]);
      w.set(`${p}mlp.c_proj.weight`, [c.intermediateSize, D]).set(`${p}mlp.c_proj.bias`, [D]);
    }
    w.set('transformer.ln_f.weight', [D]).set('transformer.ln_f.bias', [D]);
    if (!c.tieWordEmbeddings) w.set('lm_head.weight', [c.vocabSize, D]);
    return w;
  }
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  w.set('model.embed_tokens.weight', [c.vocabSize, D]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    w.set(`${p}input_layernorm.weight`, [D]);
    // nn.Linear layout: weight is [out, in], y = x W^T + b.
    if (c.fusedProjections) w.set(`${p}self_attn.qkv_proj.weight`, [qDim + 2 * kvDim, D]);
    else {
      w.set(`${p}self_attn.q_proj.weight`, [qDim, D]);
      w.set(`${p}self_attn.k_proj.weight`, [kvDim, D]);
      w.set(`${p}self_attn.v_proj.weight`, [kvDim, D]);
    }
    if (c.attentionBias) {
      w.set(`${p}self_attn.q_proj.bias`, [qDim]).set(`${p}self_attn.k_proj.bias`, [kvDim]).set(`${p}self_attn.v_proj.bias`, [kvDim]);
    }
    if (c.qkNorm) w.set(`${p}self_attn.q_norm.weight`, [c.headDim]).set(`${p}self_attn.k_norm.weight`, [c.headDim]);
    w.set(`${p}self_attn.o_proj.weight`, [D, qDim]);
    if (c.outputBias) w.set(`${p}self_attn.o_proj.bias`, [D]);
    w.set(`${p}post_attention_layernorm.weight`, [D]);
    if (c.sandwichNorms) w.set(`${p}pre_feedforward_layernorm.weight`, [D]).set(`${p}post_feedforward_layernorm.weight`, [D]);
    if (c.fusedProjections) w.set(`${p}mlp.gate_up_proj.weight`, [2 * c.intermediateSize, D]);
    else {
      w.set(`${p}mlp.gate_proj.weight`, [c.intermediateSize, D]);
      w.set(`${p}mlp.up_proj.weight`, [c.intermediateSize, D]);
    }
    w.set(`${p}mlp.down_proj.weight`, [D, c.intermediateSize]);
  }
  w.set('model.norm.weight', [D]);
  if (!c.tieWordEmbeddings) w.set('lm_head.weight', [c.vocabSize, D]);
  return w;
}

/** The embedding matrix that also serves as the output head when weights are tied. */
export function embeddingName(c: ModelConfig): string {
  return c.family === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
}

export function headName(c: ModelConfig): string {
  return c.tieWordEmbeddings ? embeddingName(c) : 'lm_head.weight';
}
