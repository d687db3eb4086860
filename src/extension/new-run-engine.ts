// The engine questions of "DPO: New Training Run": which engine (asked only when both can run), and
// on the PyTorch engine LoRA (on by default above ~1B parameters), precision, and the GPUs with the
// accelerate preset (asked only when more than one GPU was found at set-up). Answers become config fields.
import { ACCELERATE_PRESETS, DtypeName, EngineName } from '../protocol';
import { EngineSetting, chooseEngine, torchInstalled } from '../node/engine-choice';
import { LORA_DEFAULT_ABOVE, countParameters, embeddedLoraOffered, formatParameters } from '../node/model-size';
import { TorchReport, summarizeDevices, torchEnvState } from '../node/torch-setup';
import { BACK, PickItem, StepAnswer, outcome, pickStep, runSteps } from './quick-steps';

const TITLE = 'DPO: New Training Run';
/** The LoRA rank and α the flow writes when LoRA is chosen (α = 2r, the common choice). */
export const LORA_R = 16;

type Pick<T> = PickItem<T>;

function pick<T>(title: string, placeHolder: string, items: Pick<T>[], back: boolean, active?: T): Promise<StepAnswer<T>> {
  return pickStep({ title: `${TITLE} — ${title}`, placeHolder, items, back, active });
}

/** The engine when it is not asked (the PyTorch engine is not set up): the setting's choice. */
export function engineWithoutAsking(setting: EngineSetting): EngineName | undefined {
  return torchInstalled() ? undefined : chooseEngine({}, setting);
}

/** The engine, asked when the PyTorch engine is set up (so both can run). */
export async function askEngine(setting: EngineSetting, back: boolean, active?: EngineName): Promise<StepAnswer<EngineName>> {
  const preferred = chooseEngine({}, setting);
  const report = torchEnvState().report;
  const items: Pick<EngineName>[] = [
    {
      label: '$(flame) PyTorch engine',
      description: `torch · ${report ? summarizeDevices(report) : 'set up'}`,
      detail: 'PyTorch + TRL + accelerate: real models, GPUs, LoRA',
      value: 'torch',
    },
    { label: '$(package) Embedded engine', description: 'tfjs · TensorFlow.js in the engine process', detail: 'no set-up; small models', value: 'tfjs' },
  ];
  items.sort((a, b) => Number(b.value === preferred) - Number(a.value === preferred));
  return pick('engine', 'Which engine trains this run', items, back, active);
}

export interface TorchChoices {
  lora_r: number;
  lora_alpha?: number;
  dtype: DtypeName;
  num_processes: number;
  accelerate_config?: string;
}

/** LoRA, precision, GPUs and preset, each with Back; Back from the first returns to the engine question. */
export async function askTorchOptions(model: string, previous?: TorchChoices): Promise<StepAnswer<TorchChoices>> {
  const report: TorchReport | undefined = torchEnvState().report;
  const gpus = report?.gpus.length ?? 0;
  const params = countParameters(model);
  const size = params !== undefined ? `${formatParameters(params)} parameters` : 'size unknown';
  const loraFirst = (params ?? 0) > LORA_DEFAULT_ABOVE;
  const lora: Pick<boolean>[] = [
    {
      label: `LoRA (rank ${LORA_R})`,
      description: loraFirst ? `recommended for ${size}` : size,
      detail: 'trains small adapters; the reference is the base model with adapters off',
      value: true,
    },
    {
      label: 'Full fine-tuning',
      description: loraFirst ? size : `recommended for ${size}`,
      detail: 'trains every weight; needs ~16 bytes of GPU memory per parameter',
      value: false,
    },
  ];
  if (!loraFirst) lora.reverse();
  const dtypes: Pick<DtypeName>[] = [
    { label: 'bf16', description: 'mixed precision (Ampere or newer GPUs)', value: 'bf16' },
    { label: 'fp16', description: 'mixed precision (older GPUs)', value: 'fp16' },
    { label: 'fp32', description: gpus ? 'full precision' : 'full precision (the choice on CPU)', value: 'fp32' },
  ];
  // On the CPU: fp32 first, and no fp16 (mixed fp16 needs a GPU).
  if (!gpus) dtypes.splice(0, dtypes.length, dtypes[2], dtypes[0]);
  const why: Record<(typeof ACCELERATE_PRESETS)[number], string> = {
    ddp: 'data parallel: a full copy per GPU (fastest when the model fits)',
    deepspeed_zero2: 'shards optimizer state and gradients',
    deepspeed_zero3: 'also shards the weights (largest models)',
    fsdp: 'PyTorch FSDP: shards weights, gradients and optimizer state',
  };

  let useLora = previous ? previous.lora_r > 0 : undefined;
  let dtype = previous?.dtype;
  let numProcesses = previous?.num_processes ?? 1;
  // Unanswered, the GPU count's first row (all GPUs) is the one selected.
  let gpuAnswer = previous?.num_processes;
  let preset = previous?.accelerate_config;
  const flow = await runSteps(
    [
      async (back) => outcome(await pick('LoRA', `The model has ${size}`, lora, back, useLora), (v) => (useLora = v)),
      async (back) =>
        outcome(
          await pick('precision', gpus ? `${gpus} GPU(s) found at set-up` : 'No GPU was found at set-up: training runs on the CPU', dtypes, back, dtype),
          (v) => (dtype = v),
        ),
      async (back) => {
        if (gpus <= 1) return 'skip';
        const counts = Array.from({ length: gpus }, (_, i) => gpus - i).map((n) => ({
          label: `${n} GPU${n > 1 ? 's' : ''}`,
          description: n === gpus ? 'all found' : '',
          value: n,
        }));
        return outcome(await pick('GPUs', `${report!.gpus.map((g) => g.name).join(', ')}`, counts, back, gpuAnswer), (v) => (numProcesses = gpuAnswer = v));
      },
      async (back) => {
        if (numProcesses <= 1) return 'skip';
        const items = ACCELERATE_PRESETS.map((p) => ({ label: p, description: why[p], value: p as string }));
        return outcome(await pick('accelerate preset', 'How the GPUs share the work', items, back, preset), (v) => (preset = v));
      },
    ],
    true,
  );
  if (flow === 'back') return BACK;
  if (flow === 'cancel') return undefined;
  return {
    lora_r: useLora ? LORA_R : 0,
    ...(useLora ? { lora_alpha: 2 * LORA_R } : {}),
    dtype: dtype!,
    num_processes: numProcesses,
    ...(numProcesses > 1 && preset ? { accelerate_config: preset } : {}),
  };
}

/** The embedded engine's LoRA answer: adapters plus recomputed blocks, or full fine-tuning. */
export interface EmbeddedChoices {
  lora_r: number;
  lora_alpha?: number;
  gradient_checkpointing?: boolean;
}

/**
 * LoRA on the embedded engine, asked only for models above ~20M parameters (embeddedLoraOffered),
 * where full DPO outgrows wasm's 4 GiB heap; 'skip' below that. Back returns to the engine question.
 */
export async function askEmbeddedOptions(model: string, previous?: EmbeddedChoices): Promise<StepAnswer<EmbeddedChoices> | 'skip'> {
  const params = countParameters(model);
  if (!embeddedLoraOffered(params)) return 'skip';
  const size = `${formatParameters(params!)} parameters`;
  const items: Pick<boolean>[] = [
    {
      label: `LoRA (rank ${LORA_R}) with recomputed blocks`,
      description: `recommended for ${size}`,
      detail: "trains small adapters on a frozen base and keeps one block's activations: fits wasm's 4 GiB heap",
      value: true,
    },
    {
      label: 'Full fine-tuning',
      description: size,
      detail: 'trains every weight; the memory check before loading says whether it fits',
      value: false,
    },
  ];
  const answer = await pick(
    'LoRA',
    `The model has ${size}; the embedded engine runs in a 4 GiB wasm heap`,
    items,
    true,
    previous ? previous.lora_r > 0 : undefined,
  );
  if (answer === undefined || answer === BACK) return answer;
  return answer ? { lora_r: LORA_R, lora_alpha: 2 * LORA_R, gradient_checkpointing: true } : { lora_r: 0 };
}
