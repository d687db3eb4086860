// Hugging Face `config.json` -> the normalised architecture description the transformer is built
// from. Only decoder-only families we implement are accepted; anything else is a clear error.

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
  bosTokenId?: number;
  eosTokenId?: number;
  /** The config.json as read, written back on save with only what training changes. */
  raw: Record<string, unknown>;
}

const LLAMA_ARCHITECTURES = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'];
export const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', ...LLAMA_ARCHITECTURES];

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
  const isLlama = (arch !== undefined && LLAMA_ARCHITECTURES.includes(arch)) || (!arch && ['llama', 'qwen2', 'mistral'].includes(modelType ?? ''));
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
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ModelConfigError(`${file}: hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
  const ropeScaling = raw.rope_scaling as { rope_type?: string; type?: string } | null | undefined;
  if (ropeScaling != null && (ropeScaling.rope_type ?? ropeScaling.type) !== 'default') {
    throw new ModelConfigError(`${file}: rope_scaling ${JSON.stringify(ropeScaling)} is not supported`);
  }
  if (raw.mlp_bias === true) throw new ModelConfigError(`${file}: mlp_bias is not supported`);
  const architecture = arch ?? { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM' }[modelType!]!;
  return {
    family: 'llama',
    architecture,
    vocabSize: posInt(raw, 'vocab_size', file),
    hiddenSize,
    numLayers: posInt(raw, 'num_hidden_layers', file),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: posInt(raw, 'intermediate_size', file),
    maxPositions: posInt(raw, 'max_position_embeddings', file, 2048),
    normEps: positive(raw, 'rms_norm_eps', file, 1e-6),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    ropeTheta: positive(raw, 'rope_theta', file, 10000),
    attentionBias: architecture === 'Qwen2ForCausalLM' || raw.attention_bias === true,
    bosTokenId: optionalId(raw.bos_token_id),
    eosTokenId: optionalId(raw.eos_token_id),
    raw,
  };
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
    w.set(`${p}self_attn.q_proj.weight`, [qDim, D]);
    w.set(`${p}self_attn.k_proj.weight`, [kvDim, D]);
    w.set(`${p}self_attn.v_proj.weight`, [kvDim, D]);
    if (c.attentionBias) {
      w.set(`${p}self_attn.q_proj.bias`, [qDim]).set(`${p}self_attn.k_proj.bias`, [kvDim]).set(`${p}self_attn.v_proj.bias`, [kvDim]);
    }
    w.set(`${p}self_attn.o_proj.weight`, [D, qDim]);
    w.set(`${p}post_attention_layernorm.weight`, [D]);
    w.set(`${p}mlp.gate_proj.weight`, [c.intermediateSize, D]);
    w.set(`${p}mlp.up_proj.weight`, [c.intermediateSize, D]);
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
