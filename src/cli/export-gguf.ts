// `dpo export-gguf`: a model folder, LoRA adapter or run folder as a GGUF file (and an Ollama Modelfile)
// for llama.cpp, LM Studio and Ollama. The conversion runs in the torch engine's environment
// (python/dpo_studio/export_gguf.py, on the pinned gguf package); this file only wires the flags.
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { runTorchModule } from './torch-engine';

export const GGUF_TYPES = ['f32', 'f16', 'q8_0'] as const;

export function exportGgufArgs(o: { model: string; out: string; type: string; base?: string; modelfile: boolean }): string[] {
  const args = ['--model', path.resolve(o.model), '--out', path.resolve(o.out), '--type', o.type];
  if (o.base) args.push('--base', path.resolve(o.base));
  if (!o.modelfile) args.push('--no-modelfile');
  return args;
}

export function addExportGgufCommand(program: Command): void {
  program
    .command('export-gguf')
    .description(
      'write a model folder, a LoRA adapter (merged into its base) or a run folder (its final/) as one GGUF file for llama.cpp / LM Studio / Ollama, with an Ollama Modelfile beside it (needs `dpo setup-torch`)',
    )
    .requiredOption('--model <dir>', 'model folder, LoRA adapter folder, or run folder')
    .requiredOption('--out <file>', 'the .gguf file to write (the Modelfile goes in the same folder)')
    .addOption(new Option('--type <type>', 'tensor type: f32 (exact), f16 (half the size), q8_0 (8-bit, about a quarter)').choices(GGUF_TYPES).default('f16'))
    .option('--base <dir>', "a LoRA adapter's base model folder (default: the adapter's base_model_name_or_path)")
    .option('--no-modelfile', 'do not write the Ollama Modelfile')
    .action((o) => runTorchModule('dpo_studio.export_gguf', exportGgufArgs(o)));
}
