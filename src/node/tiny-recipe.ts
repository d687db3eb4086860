// What turns a tiny random model into one worth probing: SFT on the chosen answers first (the
// reference the paper recommends: "preferred-FT"), then DPO from it. `dpo demo` and New Training
// Run's "Make a tiny model" path both use these settings, so the editor's first run is the demo's.
export const TINY_SFT_STAGE = {
  learning_rate: 3e-3,
  num_train_epochs: 4,
  batch_size: 8,
  lr_scheduler_type: 'cosine',
  warmup_ratio: 0.05,
  eval_steps: 1000,
  save_steps: 1000,
  logging_steps: 5,
} as const;

export const TINY_DPO_STAGE = {
  learning_rate: 5e-4,
  num_train_epochs: 3,
  batch_size: 8,
  beta: 0.1,
  lr_scheduler_type: 'cosine',
  warmup_ratio: 0.1,
  precompute_ref_log_probs: true,
  save_steps: 1000,
  logging_steps: 1,
} as const;

export const TINY_COMMON = { eval_fraction: 0.1, seed: 42, max_length: 128 } as const;
