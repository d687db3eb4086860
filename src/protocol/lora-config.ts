// The LoRA fields of the run config (PEFT on the torch engine, the embedded engine's own adapters);
// CONFIG_FIELDS spreads them in (split from config.ts to keep it under 400 lines).
export const LORA_FIELDS = {
  lora_r: {
    type: 'integer',
    minimum: 0,
    default: 0,
    description:
      "LoRA rank (PEFT on the torch engine; the embedded engine's own adapters); 0 trains all weights. With LoRA the base is frozen, the reference is the base model (adapters off, no second copy), and final/ holds a PEFT adapter (adapter_config.json, adapter_model.safetensors).",
  },
  lora_alpha: {
    type: 'number',
    exclusiveMinimum: 0,
    default: 16,
    description: 'LoRA scaling α (the update is scaled by α/r).',
  },
  lora_dropout: { type: 'number', minimum: 0, maximum: 1, default: 0, description: 'Dropout on the LoRA input during training.' },
  lora_target_modules: {
    type: ['array', 'string'],
    items: { type: 'string' },
    default: 'all-linear',
    description:
      'Modules that get LoRA adapters: a list of module names (GPT-2: c_attn, c_proj, c_fc; Llama: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj), a comma-separated string of them, or "all-linear" (every projection but the output head).',
  },
  merge_lora: {
    type: 'boolean',
    default: false,
    description: 'With lora_r > 0: also write final/merged/, the base model with the adapter merged in (loads without PEFT).',
  },
} as const;
