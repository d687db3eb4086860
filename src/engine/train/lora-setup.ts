// The trainer's LoRA set-up: which projections get adapters (checked against config.json before any
// weight is read) and the adapters themselves, fresh (PEFT's init) or from a LoRA checkpoint.
import { ModelConfig } from '../model/config';
import { LoraAdapters, LoraModule, LoraSettings, targetedModules } from '../model/lora';
import { readAdapterWeights } from '../model/adapter-files';
import { CausalLM } from '../model/transformer';
import { Report, TrainingError } from './report';

/** The projections lora_target_modules selects; a name the model lacks is a TrainingError naming the model's projections. */
export function loraTargets(model: ModelConfig, lora: LoraSettings, modelDir: string): LoraModule[] {
  try {
    return targetedModules(model, lora.targetModules);
  } catch (err) {
    throw new TrainingError(`${modelDir}: ${(err as Error).message}`);
  }
}

/** Attaches adapters to the frozen policy: from `resumeDir`'s adapter when resuming, else initialised from `seed`. */
export function attachAdapters(policy: CausalLM, lora: LoraSettings, modules: LoraModule[], resumeDir: string | undefined, seed: number, report: Report): void {
  policy.attachLora(new LoraAdapters(lora, modules, resumeDir ? { weights: readAdapterWeights(resumeDir) } : { seed }));
  const n = policy.adapters!.numParameters().toLocaleString('en-US');
  report.log(`LoRA: r ${lora.r}, alpha ${lora.alpha}, dropout ${lora.dropout} on ${modules.length} projections; ${n} trainable parameters, base frozen`);
}
