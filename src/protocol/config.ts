// The run configuration: one schema (JSON Schema, so the editor completes and checks run config
// files through jsonValidation) holding every field's meaning, default and bounds; DEFAULT_CONFIG
// and validation derive from it, so a default is written in exactly one place.
import type Ajv from 'ajv';
// protocol/ is also compiled for the browser (without Node's types); the bundlers resolve require.
declare const require: (id: string) => unknown;
import { BACKEND_NAMES, BackendName } from './backend';
import { OBJECTIVE_FIELDS, objectiveProblems } from './objective-config';
import { KTO_FIELDS, ktoProblems } from './kto-config';
import { CHECKPOINT_EVAL_FIELDS } from './checkpoint-eval-config';
import { REPORT_TO_FIELDS } from './report-to-config';
import { LORA_FIELDS } from './lora-config';
import { nonFiniteFields } from './config-numbers';
import { LOSS_LIST_DESCRIPTION, LOSS_MEMBERS, LossMember, hasLossMember, lossTermProblems } from './loss-terms';

export const LOSS_TYPES = ['sigmoid', 'ipo', 'hinge', 'simpo', 'orpo'] as const;
export type LossType = (typeof LOSS_TYPES)[number];
export const SCHEDULER_TYPES = ['linear', 'cosine', 'constant'] as const;
export type SchedulerType = (typeof SCHEDULER_TYPES)[number];
export const TRAINING_MODES = ['dpo', 'sft', 'kto'] as const;
export const ENGINE_NAMES = ['tfjs', 'torch'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
export const DTYPE_NAMES = ['fp32', 'bf16', 'fp16'] as const;
export type DtypeName = (typeof DTYPE_NAMES)[number];
/** accelerate_config presets the torch engine writes itself (anything else is a YAML file path). */
export const ACCELERATE_PRESETS = ['ddp', 'deepspeed_zero2', 'deepspeed_zero3', 'fsdp'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];

/** A resolved run configuration. Each field is described (with its default) in CONFIG_SCHEMA. */
export interface DpoConfig {
  mode: TrainingMode;
  model: string;
  reference_model: string | null;
  data: string;
  eval_data: string | null;
  eval_fraction: number;
  output_dir: string;
  loss_type: LossType | LossMember[];
  loss_weights: number[] | null;
  beta: number;
  label_smoothing: number;
  reference_free: boolean;
  sft_weight: number;
  simpo_gamma: number;
  cpo_alpha: number;
  desirable_weight: number;
  undesirable_weight: number;
  precompute_ref_log_probs: boolean;
  learning_rate: number;
  lr_scheduler_type: SchedulerType;
  warmup_steps: number;
  warmup_ratio: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  max_grad_norm: number;
  batch_size: number;
  gradient_accumulation_steps: number;
  num_train_epochs: number;
  max_steps: number | null;
  max_length: number;
  max_prompt_length: number | null;
  seed: number;
  logging_steps: number;
  eval_steps: number | null;
  save_steps: number;
  save_total_limit: number | null;
  skip_bad_lines: boolean;
  backend: BackendName | null;
  threads: number;
  stuck_loss_steps: number;
  falling_logps_window: number;
  engine: EngineName;
  dtype: DtypeName;
  gradient_checkpointing: boolean;
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
  lora_target_modules: string[] | string;
  merge_lora: boolean;
  num_processes: number;
  accelerate_config: string | null;
  checkpoint_eval_prompts: number;
  checkpoint_eval_samples: number;
  checkpoint_eval_max_new_tokens: number;
  checkpoint_eval_reward_model: string | null;
  /** Live logging: ["tensorboard"], or [] / "none" (report-to-config.ts). */
  report_to: string[] | string;
}

/**
 * A field's JSON Schema. `x-engines` lists the engines that honour a field (absent: both); a field set
 * away from its default for another engine is a config error, with `x-why` as the reason. The Python
 * engine reads the same annotations from schemas/dpo-config.schema.json.
 */
type FieldSchema = Record<string, unknown> & { description: string; default: unknown; 'x-engines'?: EngineName[]; 'x-why'?: string };

/** A single loss_type: the objectives, and any loss-list member alone (TRL takes ["bco_pair"] too). */
const SINGLE_LOSS_TYPES: string[] = [...new Set<string>([...LOSS_TYPES, ...LOSS_MEMBERS])];
const nullable = (type: string) => ({ type: [type, 'null'] });

/** Every field: its JSON Schema, description and default. */
export const CONFIG_FIELDS: Record<keyof DpoConfig, FieldSchema> = {
  mode: {
    enum: [...TRAINING_MODES],
    default: 'dpo',
    description:
      '"dpo" trains on preference pairs; "sft" fine-tunes on the chosen responses (prompt masked) to make a reference model; "kto" trains on unpaired {"prompt","completion","label"} lines (KTO, arXiv:2402.01306; a paired file is unpaired into a desirable and an undesirable line per pair).',
  },
  model: {
    type: 'string',
    default: '',
    description:
      'Policy model folder (Hugging Face layout: config.json, model.safetensors, tokenizer.json). Relative paths are resolved against the config file.',
  },
  reference_model: {
    ...nullable('string'),
    default: null,
    description: "Reference model folder; null means a frozen copy of the starting policy (the paper's setting).",
  },
  data: { type: 'string', default: '', description: 'Preference JSONL: {"prompt","chosen","rejected"} (text or chat messages); kto: also unpaired lines.' },
  eval_data: { ...nullable('string'), default: null, description: 'Held-out preference JSONL; when null, eval_fraction of data is held out.' },
  eval_fraction: {
    type: 'number',
    minimum: 0,
    maximum: 0.5,
    default: 0.1,
    description: 'Fraction of data held out for evaluation (seeded) when eval_data is null; 0 disables evaluation.',
  },
  output_dir: {
    type: 'string',
    default: '',
    description:
      'Run folder for config.json, metrics.jsonl, pairs.jsonl, log.txt, checkpoints/ and final/. Empty: a new folder under .dpo/runs/, placed by what starts the run (README, Runs).',
  },
  loss_type: {
    anyOf: [{ enum: SINGLE_LOSS_TYPES }, { type: 'array', items: { enum: [...LOSS_MEMBERS] }, minItems: 1, uniqueItems: true }],
    default: 'sigmoid',
    description:
      "sigmoid: the DPO loss (Eq. 7, arXiv:2305.18290); ipo: (h - 1/(2β))² on per-token mean log-probs (arXiv:2310.12036); hinge: max(0, 1 - βh) (SLiC); simpo: SimPO, reference-free, -log σ(β·(mean log πθ(yw) - mean log πθ(yl)) - γ) (arXiv:2405.14734, TRL's CPOTrainer); orpo: ORPO, reference-free, NLL of prompt and chosen response - β·log σ(log odds(yw) - log odds(yl)) (arXiv:2403.07691, TRL's ORPOTrainer). " +
      LOSS_LIST_DESCRIPTION,
  },
  loss_weights: {
    type: ['array', 'null'],
    items: { type: 'number', minimum: 0 },
    default: null,
    description: 'Weight of each loss_type entry, in order (the loss is the weighted sum of their batch means); null: 1 each.',
  },
  beta: {
    type: 'number',
    exclusiveMinimum: 0,
    default: 0.1,
    description:
      'β: strength of the KL penalty toward the reference; rewards are β·log(πθ/πref). For simpo: the SimPO β scaling the mean log-prob margin (the paper uses 2-10); for orpo: λ, the weight of the odds-ratio term. With simpo and orpo, rewards/* are β·mean log πθ(y|x) (no reference).',
  },
  label_smoothing: {
    type: 'number',
    minimum: 0,
    maximum: 0.5,
    exclusiveMaximum: 0.5,
    default: 0,
    'x-engines': ['tfjs'],
    'x-why': 'TRL 1.13 reads label_smoothing only for its robust/exo_pair/aot losses; its sigmoid loss has no cDPO term',
    description: 'tfjs engine only: ε of conservative DPO (sigmoid loss only): the probability that a label is flipped.',
  },
  reference_free: {
    type: 'boolean',
    default: false,
    'x-engines': ['tfjs'],
    'x-why': 'TRL 1.13 removed reference_free from DPOConfig',
    description: 'tfjs engine only: ignore the reference model (its log-probs count as 0).',
  },
  sft_weight: {
    type: 'number',
    minimum: 0,
    default: 0,
    description:
      'Deprecated: w > 0 is loss_type [<loss_type>, "sft"] with loss_weights [1, w] (RPO; TRL\'s "sft" term averages the NLL over all chosen tokens of a batch). Write the list instead; 0 adds nothing.',
  },
  ...OBJECTIVE_FIELDS, // simpo_gamma, cpo_alpha (objective-config.ts)
  ...KTO_FIELDS, // desirable_weight, undesirable_weight (kto-config.ts)
  precompute_ref_log_probs: {
    type: 'boolean',
    default: false,
    description: 'Compute reference log-probs once for all pairs, cache them in the run folder, and free the reference weights during training.',
  },
  learning_rate: { type: 'number', exclusiveMinimum: 0, default: 1e-6, description: "Peak AdamW learning rate (TRL's DPO default)." },
  lr_scheduler_type: { enum: [...SCHEDULER_TYPES], default: 'linear', description: 'Decay after warm-up: linear to 0, cosine to 0, or constant.' },
  warmup_steps: { type: 'integer', minimum: 0, default: 0, description: 'Linear warm-up steps; overrides warmup_ratio when > 0.' },
  warmup_ratio: { type: 'number', minimum: 0, maximum: 1, default: 0.1, description: 'Warm-up as a fraction of the total optimizer steps.' },
  weight_decay: { type: 'number', minimum: 0, default: 0, description: 'AdamW decoupled weight decay (not applied to biases and norm weights).' },
  adam_beta1: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.9, description: 'AdamW β1, the decay of the gradient average.' },
  adam_beta2: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.999, description: 'AdamW β2, the decay of the squared-gradient average.' },
  adam_epsilon: { type: 'number', exclusiveMinimum: 0, default: 1e-8, description: 'AdamW ε, added to the denominator for stability.' },
  max_grad_norm: { type: 'number', minimum: 0, default: 1, description: 'Clip gradients to this global L2 norm; 0 disables clipping.' },
  batch_size: { type: 'integer', minimum: 1, default: 4, description: 'Pairs per forward pass (each pair is two sequences).' },
  gradient_accumulation_steps: {
    type: 'integer',
    minimum: 1,
    default: 1,
    description: 'Forward passes per optimizer step; the effective batch is batch_size × this.',
  },
  num_train_epochs: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'Passes over the training pairs (ignored when max_steps is set).' },
  max_steps: { ...nullable('integer'), minimum: 1, default: null, description: 'Optimizer steps to run; null: num_train_epochs decides.' },
  max_length: {
    type: 'integer',
    minimum: 2,
    default: 512,
    description:
      'Longest prompt + response in tokens (capped at the model context); responses are cut at the end, pairs whose prompt fills it are dropped and counted.',
  },
  max_prompt_length: {
    ...nullable('integer'),
    minimum: 1,
    default: null,
    'x-engines': ['tfjs'],
    'x-why': 'TRL 1.13 has only max_length',
    description: 'tfjs engine only: longest prompt in tokens; longer prompts keep their end. null: no separate limit.',
  },
  seed: { type: 'integer', minimum: 0, default: 42, description: 'Seed for shuffling and the eval split; the same seed gives the same run.' },
  logging_steps: { type: 'integer', minimum: 1, default: 1, description: 'Write a metrics line every N optimizer steps.' },
  eval_steps: {
    ...nullable('integer'),
    minimum: 1,
    default: null,
    description:
      "Evaluate on the held-out pairs every N steps (and at the start and the end); null: about 10 evaluations a run, every ⌈total steps / 10⌉ steps (TRL's eval_steps 0.1).",
  },
  save_steps: { type: 'integer', minimum: 1, default: 100, description: 'Write a checkpoint every N steps (and when stopped).' },
  save_total_limit: { ...nullable('integer'), minimum: 1, default: 3, description: 'Keep only the newest N checkpoints; null keeps all.' },
  ...CHECKPOINT_EVAL_FIELDS, // checkpoint_eval_* (checkpoint-eval-config.ts)
  ...REPORT_TO_FIELDS, // report_to (report-to-config.ts)
  skip_bad_lines: { type: 'boolean', default: false, description: 'Skip unusable data lines (and report how many) instead of stopping with the list.' },
  backend: {
    enum: [...BACKEND_NAMES, null],
    default: null,
    'x-engines': ['tfjs'],
    'x-why': 'it picks a TensorFlow.js backend',
    description:
      'tfjs engine only: force a TensorFlow.js backend; null picks the fastest that loads (tfjs-node-gpu > webgpu on a hardware GPU adapter > tfjs-node > wasm > cpu).',
  },
  threads: {
    type: 'integer',
    minimum: 0,
    default: 0,
    'x-engines': ['tfjs'],
    'x-why': 'it sets the threads of the wasm backend (the torch engine uses torch.set_num_threads and num_processes)',
    description:
      "tfjs engine only: threads for the wasm backend's matrix products (its threaded build); 0 uses every core (up to 8), 1 the single-threaded build. Fixed when the engine starts.",
  },
  stuck_loss_steps: {
    type: 'integer',
    minimum: 1,
    default: 10,
    description: 'Warn when the loss stays at log 2 with zero rewards for this many logged steps.',
  },
  falling_logps_window: {
    type: 'integer',
    minimum: 2,
    default: 20,
    description:
      'Without held-out pairs: warn when logps/chosen, averaged over each half of this many logged steps, falls by over 1 nat beyond batch noise. With held-out pairs the eval values decide (a fall over 3 evaluations).',
  },
  engine: {
    enum: [...ENGINE_NAMES],
    default: 'tfjs',
    description:
      'Which engine trains: "tfjs" (embedded TensorFlow.js, small models, no set-up) or "torch" (PyTorch + TRL + accelerate in the environment `dpo setup-torch` makes; CPU, GPUs, LoRA).',
  },
  dtype: {
    'x-engines': ['torch'],
    enum: [...DTYPE_NAMES],
    default: 'fp32',
    description: 'torch engine only: weight and compute dtype (bf16/fp16 train in mixed precision on GPUs). The tfjs engine computes in fp32.',
  },
  gradient_checkpointing: {
    type: 'boolean',
    default: false,
    description:
      "Recompute activations in the backward pass to save memory (slower; the embedded engine keeps each block's input and recomputes the block: ~1/3 more compute, activations for one block instead of all).",
  },
  ...LORA_FIELDS, // lora_* and merge_lora (lora-config.ts)
  num_processes: {
    'x-engines': ['torch'],
    type: 'integer',
    minimum: 1,
    default: 1,
    description:
      'torch engine only: training processes (data parallel, one per GPU; gloo on CPU) launched through `accelerate launch`; the batch is per process.',
  },
  accelerate_config: {
    'x-engines': ['torch'],
    ...nullable('string'),
    default: null,
    description: `torch engine only: an accelerate config: a preset (${ACCELERATE_PRESETS.map((p) => `"${p}"`).join(', ')}) or a YAML file path; null: plain data parallel over num_processes.`,
  },
};

export const DEFAULT_CONFIG: DpoConfig = Object.fromEntries(Object.entries(CONFIG_FIELDS).map(([k, f]) => [k, f.default])) as unknown as DpoConfig;

/** The JSON Schema of a run config file (every field optional but model and data). */
export const CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://dpo-studio.dev/schemas/dpo-config.schema.json',
  title: 'DPO Studio run configuration',
  type: 'object',
  additionalProperties: false,
  required: ['model', 'data'],
  properties: { $schema: { type: 'string' }, ...CONFIG_FIELDS },
};

export interface ConfigProblem {
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    source = 'config',
  ) {
    super(`${source}: ${problems.length} invalid field(s):\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
  }
}

const LOSS_TYPE_MESSAGE = `must be equal to one of the allowed values: ${JSON.stringify(SINGLE_LOSS_TYPES)}, or a list of ${JSON.stringify(LOSS_MEMBERS)} (each once)`;
let validator: ReturnType<Ajv['compile']> | undefined;

/**
 * Fills defaults and validates; every bad field is named (not only the first). `source` names the
 * file or flag set in the message.
 */
export function resolveConfig(partial: Record<string, unknown>, source = 'config'): DpoConfig {
  if (!validator) {
    // Loaded on first use: ajv is most of the extension bundle, and activation validates nothing.
    const AjvClass = (require('ajv') as { default: typeof Ajv }).default;
    validator = new AjvClass({ allErrors: true, strict: false }).compile(CONFIG_SCHEMA);
  }
  const candidate: Record<string, unknown> = { ...DEFAULT_CONFIG, ...partial };
  delete candidate.$schema; // allowed in config files for editor support, not part of a config
  const problems: ConfigProblem[] = [];
  if (!validator(candidate)) {
    for (const e of validator.errors ?? []) {
      // An item's error (loss_weights/1) is the field's: the message says which item.
      const [top, ...item] = e.instancePath.replace(/^\//, '').split('/');
      const field =
        top ||
        (e.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ||
        (e.params as { additionalProperty?: string }).additionalProperty ||
        '(root)';
      // loss_type's anyOf (a name or a list) fails in three ways at once: one message says both forms.
      if (field.startsWith('loss_type')) {
        if (!problems.some((p) => p.field === 'loss_type')) problems.push({ field: 'loss_type', message: LOSS_TYPE_MESSAGE });
        continue;
      }
      const message =
        e.keyword === 'additionalProperties'
          ? 'unknown field'
          : e.keyword === 'enum'
            ? `${e.message}: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`
            : (e.message ?? 'invalid');
      const itemMessage = item.length > 0 ? `[${item.join('][')}] ${message}` : message;
      if (!problems.some((p) => p.field === field && p.message === itemMessage)) problems.push({ field, message: itemMessage });
    }
  }
  problems.push(...nonFiniteFields(candidate));
  const c = candidate as unknown as DpoConfig;
  if (!c.model) problems.push({ field: 'model', message: 'required: the policy model folder' });
  if (!c.data) problems.push({ field: 'data', message: 'required: the preference JSONL file' });
  if (problems.length > 0) throw new ConfigError(problems, source);
  // Rules across fields, once each field is valid on its own.
  if (c.label_smoothing > 0 && !hasLossMember(c.loss_type, 'sigmoid'))
    problems.push({ field: 'label_smoothing', message: `applies to loss_type "sigmoid" only (got ${JSON.stringify(c.loss_type)})` });
  problems.push(...lossTermProblems(c));
  problems.push(...objectiveProblems(c, DEFAULT_CONFIG));
  problems.push(...engineProblems(c));
  problems.push(...ktoProblems(c, DEFAULT_CONFIG));
  if (c.max_prompt_length !== null && c.max_prompt_length >= c.max_length)
    problems.push({ field: 'max_prompt_length', message: `must be below max_length (${c.max_length})` });
  if (problems.length > 0) throw new ConfigError(problems, source);
  return c;
}

/** Fields set (away from their defaults) that the config's engine does not honour. */
export function engineProblems(c: DpoConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const [field, schema] of Object.entries(CONFIG_FIELDS)) {
    const engines = schema['x-engines'];
    if (!engines || engines.includes(c.engine)) continue;
    if (JSON.stringify(c[field as keyof DpoConfig]) === JSON.stringify(schema.default)) continue;
    const why = schema['x-why'] ? ` (${schema['x-why']})` : '';
    out.push({
      field,
      message: `the ${c.engine} engine does not honour it${why}; it is for engine "${engines.join('" or "')}" only: remove it or set it to ${JSON.stringify(schema.default)}`,
    });
  }
  return out;
}
