// PEFT adapter folders: adapter_config.json + adapter_model.safetensors, as PEFT's save_pretrained
// writes them, so `PeftModel.from_pretrained(base, folder)` loads what the embedded engine trained and
// the engine loads adapters PEFT wrote (plain LoRA only). Not the adapters' math: lora.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelConfig } from './config';
import { LoraAdapters, LoraSettings } from './lora';
import { encodeSafetensors, readSafetensors, tensorToFloat32 } from './safetensors';
import type { WeightData } from './transformer';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export class AdapterError extends Error {}

/** A folder holding an adapter and no model of its own (final/ and checkpoints of a LoRA run). */
export function isAdapterDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, ADAPTER_CONFIG)) && !fs.existsSync(path.join(dir, 'config.json'));
}

export interface AdapterConfig {
  settings: LoraSettings;
  /** The base model's folder, resolved (relative paths: against the adapter folder, then the current folder). */
  baseDir: string;
}

/** Reads adapter_config.json, refusing what the engine does not compute (DoRA, rsLoRA, per-module ranks...). */
export function readAdapterConfig(dir: string): AdapterConfig {
  const file = path.join(dir, ADAPTER_CONFIG);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new AdapterError(`${file}: cannot read it (${(err as Error).message})`);
  }
  const fail = (field: string, what: string) => new AdapterError(`${file}: field "${field}" ${what}`);
  if (raw.peft_type !== 'LORA') throw fail('peft_type', `is ${JSON.stringify(raw.peft_type)}; only "LORA" adapters load here`);
  for (const flag of ['use_dora', 'use_rslora', 'use_qalora', 'lora_bias'])
    if (raw[flag] === true) throw fail(flag, 'is true; the embedded engine computes plain LoRA only (use the PyTorch engine)');
  for (const field of ['rank_pattern', 'alpha_pattern'])
    if (raw[field] && Object.keys(raw[field] as object).length > 0) throw fail(field, 'is set; per-module ranks are not supported here');
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length > 0)
    throw fail('modules_to_save', 'is set; fully trained modules are not supported here');
  if (typeof raw.r !== 'number' || !Number.isInteger(raw.r) || raw.r <= 0) throw fail('r', 'must be a positive integer');
  if (typeof raw.lora_alpha !== 'number' || raw.lora_alpha <= 0) throw fail('lora_alpha', 'must be a positive number');
  const targets = raw.target_modules;
  const targetModules = targets === 'all-linear' ? 'all-linear' : typeof targets === 'string' ? [targets] : targets;
  if (targetModules !== 'all-linear' && !(Array.isArray(targetModules) && targetModules.every((t) => typeof t === 'string')))
    throw fail('target_modules', 'must be a list of module names or "all-linear"');
  const base = raw.base_model_name_or_path;
  if (typeof base !== 'string' || base === '') throw fail('base_model_name_or_path', 'must name the base model folder');
  const candidates = path.isAbsolute(base) ? [base] : [path.resolve(dir, base), path.resolve(base)];
  const baseDir = candidates.find((c) => fs.existsSync(path.join(c, 'config.json')));
  if (!baseDir) throw fail('base_model_name_or_path', `is "${base}", which is not a model folder here (looked in ${candidates.join(', ')})`);
  const dropout = typeof raw.lora_dropout === 'number' ? raw.lora_dropout : 0;
  return { settings: { r: raw.r, alpha: raw.lora_alpha, dropout, targetModules: targetModules as LoraSettings['targetModules'] }, baseDir };
}

/** The adapter tensors by PEFT name. */
export function readAdapterWeights(dir: string): Map<string, WeightData> {
  const file = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(file)) throw new AdapterError(`${file}: missing; an adapter folder needs ${ADAPTER_WEIGHTS} beside ${ADAPTER_CONFIG}`);
  const st = readSafetensors(file);
  const out = new Map<string, WeightData>();
  for (const name of st.tensors.keys()) {
    const t = tensorToFloat32(st, name);
    out.set(name, { shape: t.shape, data: t.data });
  }
  return out;
}

/** Writes `adapters` as a PEFT adapter folder for the base model in `baseDir`. */
export async function writeAdapter(dir: string, adapters: LoraAdapters, model: ModelConfig, baseDir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const s = adapters.settings;
  const targets =
    s.targetModules === 'all-linear' ? [...new Set([...adapters.modules.keys()].map((p) => p.slice(p.lastIndexOf('.') + 1)))].sort() : s.targetModules;
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: path.resolve(baseDir),
    r: s.r,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    target_modules: targets,
    // GPT-2's Conv1D stores weights [in, out]: PEFT transposes the merged update for it.
    fan_in_fan_out: model.family === 'gpt2',
    bias: 'none',
    inference_mode: true,
    init_lora_weights: true,
    use_dora: false,
    use_rslora: false,
    modules_to_save: null,
  };
  fs.writeFileSync(path.join(dir, ADAPTER_CONFIG), JSON.stringify(config, null, 2) + '\n');
  const tensors = [...(await adapters.read())].map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  fs.writeFileSync(path.join(dir, ADAPTER_WEIGHTS), encodeSafetensors(tensors));
}
