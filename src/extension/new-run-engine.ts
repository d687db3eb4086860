// The engine questions of "DPO: New Training Run": which engine (asked only when both can run), and
// on the PyTorch engine LoRA (on by default above ~1B parameters), precision, and the GPUs with the
// accelerate preset (asked only when more than one GPU was found at set-up). Answers become config fields.
import * as vscode from 'vscode';
import { ACCELERATE_PRESETS, DtypeName, EngineName } from '../protocol';
import { EngineSetting, chooseEngine, torchInstalled } from '../node/engine-choice';
import { LORA_DEFAULT_ABOVE, countParameters, formatParameters } from '../node/model-size';
import { TorchReport, summarizeDevices, torchEnvState } from '../node/torch-setup';

const TITLE = 'DPO: New Training Run';
/** The LoRA rank and α the flow writes when LoRA is chosen (α = 2r, the common choice). */
export const LORA_R = 16;

type Pick<T> = vscode.QuickPickItem & { value: T };

async function pick<T>(title: string, placeHolder: string, items: Pick<T>[]): Promise<T | undefined> {
  return (await vscode.window.showQuickPick(items, { title: `${TITLE} — ${title}`, placeHolder, ignoreFocusOut: true }))?.value;
}

/** The engine: asked when the PyTorch engine is set up (so both can run), else the setting's choice. */
export async function askEngine(setting: EngineSetting): Promise<EngineName | undefined> {
  const preferred = chooseEngine({}, setting);
  if (!torchInstalled()) return preferred;
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
  return pick('engine', 'Which engine trains this run', items);
}

export interface TorchChoices {
  lora_r: number;
  lora_alpha?: number;
  dtype: DtypeName;
  num_processes: number;
  accelerate_config?: string;
}

export async function askTorchOptions(model: string): Promise<TorchChoices | undefined> {
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
  const useLora = await pick('LoRA', `The model has ${size}`, lora);
  if (useLora === undefined) return undefined;

  const dtypes: Pick<DtypeName>[] = [
    { label: 'bf16', description: 'mixed precision (Ampere or newer GPUs)', value: 'bf16' },
    { label: 'fp16', description: 'mixed precision (older GPUs)', value: 'fp16' },
    { label: 'fp32', description: gpus ? 'full precision' : 'full precision (the choice on CPU)', value: 'fp32' },
  ];
  // On the CPU: fp32 first, and no fp16 (mixed fp16 needs a GPU).
  if (!gpus) dtypes.splice(0, dtypes.length, dtypes[2], dtypes[0]);
  const dtype = await pick('precision', gpus ? `${gpus} GPU(s) found at set-up` : 'No GPU was found at set-up: training runs on the CPU', dtypes);
  if (dtype === undefined) return undefined;

  let numProcesses = 1;
  let preset: string | undefined;
  if (gpus > 1) {
    const counts = Array.from({ length: gpus }, (_, i) => gpus - i).map((n) => ({
      label: `${n} GPU${n > 1 ? 's' : ''}`,
      description: n === gpus ? 'all found' : '',
      value: n,
    }));
    const n = await pick('GPUs', `${report!.gpus.map((g) => g.name).join(', ')}`, counts);
    if (n === undefined) return undefined;
    numProcesses = n;
    if (n > 1) {
      const why: Record<(typeof ACCELERATE_PRESETS)[number], string> = {
        ddp: 'data parallel: a full copy per GPU (fastest when the model fits)',
        deepspeed_zero2: 'shards optimizer state and gradients',
        deepspeed_zero3: 'also shards the weights (largest models)',
        fsdp: 'PyTorch FSDP: shards weights, gradients and optimizer state',
      };
      preset = await pick(
        'accelerate preset',
        'How the GPUs share the work',
        ACCELERATE_PRESETS.map((p) => ({ label: p, description: why[p], value: p })),
      );
      if (preset === undefined) return undefined;
    }
  }
  return {
    lora_r: useLora ? LORA_R : 0,
    ...(useLora ? { lora_alpha: 2 * LORA_R } : {}),
    dtype,
    num_processes: numProcesses,
    ...(preset ? { accelerate_config: preset } : {}),
  };
}
