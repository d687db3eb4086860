// The fields of evaluating during training (a background `dpo eval` of each checkpoint; the host runs
// it, src/node/eval/checkpoint-evals.ts, and the engines ignore them); CONFIG_FIELDS spreads them in.
const nullable = (type: string) => ({ type: [type, 'null'] });

export const CHECKPOINT_EVAL_FIELDS = {
  checkpoint_eval_prompts: {
    type: 'integer',
    minimum: 0,
    default: 0,
    description:
      'Evaluate during training: at each checkpoint and the final model, a background `dpo eval` samples answers to the first N held-out prompts from the model and its reference (KL, lengths, and with checkpoint_eval_reward_model reward and win rate), into eval/checkpoint-<step>/ and the metrics panel. 0 (the default) turns it off; it shares the CPU or GPU with training.',
  },
  checkpoint_eval_samples: { type: 'integer', minimum: 1, default: 2, description: 'Evaluate during training: answers sampled per prompt and model.' },
  checkpoint_eval_max_new_tokens: {
    type: 'integer',
    minimum: 1,
    default: 64,
    description: 'Evaluate during training: the longest answer sampled, in tokens.',
  },
  checkpoint_eval_reward_model: {
    ...nullable('string'),
    default: null,
    description:
      "Evaluate during training: a reward model folder (a *ForSequenceClassification with one label, as TRL's RewardTrainer writes) that scores the answers and judges policy against reference; null: KL and lengths only.",
  },
} as const;
