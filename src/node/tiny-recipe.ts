// What turns a tiny random model into one worth probing: SFT on the chosen answers first (the
// reference the paper recommends: "preferred-FT"), then DPO from it. `dpo demo` and New Training
// Run's "Make a tiny model" path both use these settings, so the editor's first run is the demo's.
export const TINY_SFT_STAGE = {
  learning_rate: 3e-3,
  // 4 epochs left the model writing "The coppppos is is is" (SFT loss 1.2 per byte); 12 reach 0.25 and answer the
  // example prompts in words ("The grass is green."), which the probe of the result must do.
  num_train_epochs: 12,
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
  // RPO's NLL term on the chosen answers (loss_type ["sigmoid","sft"], weights [1, 1]): without it 3 epochs at
  // 5e-4 unlearn the words ("The leas blis leeles ." for "The grass is green."); with it the held-out margin still
  // rises (2.6, accuracy 0.93, measured with the per-pair NLL before TRL's batch average) and the answers stay words.
  sft_weight: 1,
  save_steps: 1000,
  logging_steps: 1,
} as const;

export const TINY_COMMON = { eval_fraction: 0.1, seed: 42, max_length: 128 } as const;
