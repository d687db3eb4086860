// Checkpoints and the final save. A checkpoint is a full Hugging Face folder (loadable as it is), or
// under LoRA a PEFT adapter folder, plus optimizer.safetensors and trainer_state.json, written last:
// its presence marks the folder complete. final/ is written to final.tmp and renamed, so it too is
// whole or absent; under LoRA with merge_lora it also holds merged/, the base with the adapter folded in.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TRAINER_STATE } from '../../protocol';
import { RunFolder } from '../../node/run-folder';
import { removeDeleting, removeDirAtomic } from '../../node/fs-atomic';
import { CausalLM, WeightData } from '../model/transformer';
import { saveModel, saveWeights } from '../model/checkpoint';
import { writeAdapter } from '../model/adapter-files';
import { TOKENIZER_FILES } from '../tokenizer/tokenizer';
import { encodeSafetensors, readSafetensors, tensorToFloat32 } from '../model/safetensors';
import { AdamW } from './optimizer';

const OPTIMIZER_FILE = 'optimizer.safetensors';

/** What a checkpoint's trainer_state.json holds besides weights and optimizer moments. */
export interface TrainerState {
  step: number;
  epoch: number;
  /** Data position: the batch within the epoch that the next step reads. */
  batchInEpoch: number;
  optimizerStep: number;
  elapsedSeconds: number;
  /** With the seed, the epoch fixes the data order (each epoch's permutation is seeded by both). */
  seed: number;
}

export async function saveCheckpoint(
  folder: RunFolder,
  policy: CausalLM,
  optimizer: AdamW,
  tokenizerFrom: string,
  state: TrainerState,
  keep: number | null,
): Promise<string> {
  return folder.writeCheckpoint(
    state.step,
    async (tmp) => {
      await saveModelOrAdapter(policy, tmp, tokenizerFrom);
      const opt = await optimizer.exportState();
      fs.writeFileSync(path.join(tmp, OPTIMIZER_FILE), encodeSafetensors([...opt].map(([name, w]) => ({ name, shape: w.shape, data: w.data }))));
      fs.writeFileSync(path.join(tmp, TRAINER_STATE), JSON.stringify(state, null, 2) + '\n'); // last: marks it complete
    },
    keep,
  );
}

/** Loads a checkpoint's optimizer moments into `optimizer` and returns its trainer state (the weights are loaded with the model). */
export function restoreCheckpoint(dir: string, optimizer: AdamW): TrainerState {
  const state = JSON.parse(fs.readFileSync(path.join(dir, TRAINER_STATE), 'utf8')) as TrainerState;
  const st = readSafetensors(path.join(dir, OPTIMIZER_FILE));
  const moments = new Map<string, WeightData>();
  for (const name of st.tensors.keys()) {
    const t = tensorToFloat32(st, name);
    moments.set(name, { shape: t.shape, data: t.data });
  }
  optimizer.importState(moments, state.optimizerStep);
  return state;
}

/**
 * The policy as a model folder, or under LoRA as an adapter folder for the base in `baseModel` (the
 * run's model, which also holds the tokenizer) with the tokenizer files beside it.
 */
async function saveModelOrAdapter(policy: CausalLM, dir: string, baseModel: string): Promise<void> {
  const adapters = policy.adapters;
  if (!adapters) return saveModel(policy, dir, { tokenizerFrom: baseModel });
  await writeAdapter(dir, adapters, policy.config, baseModel);
  for (const f of TOKENIZER_FILES) {
    const src = path.join(baseModel, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
  }
}

/** final/: the model (or adapter); with `mergeLora` and adapters, also final/merged/, a plain model folder. */
export async function saveFinal(folder: RunFolder, policy: CausalLM, baseModel: string, mergeLora = false): Promise<string> {
  const finalDir = folder.file('final');
  const tmp = `${finalDir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await saveModelOrAdapter(policy, tmp, baseModel);
  if (mergeLora && policy.adapters) {
    const weights = await policy.readWeights();
    await policy.adapters.mergeInto(weights);
    saveWeights(path.join(tmp, 'merged'), policy.config, weights, { tokenizerFrom: baseModel });
  }
  // The previous final/ (a resumed run's) goes by rename first, so a kill leaves it whole or gone.
  removeDeleting(folder.dir);
  removeDirAtomic(finalDir);
  fs.renameSync(tmp, finalDir);
  return finalDir;
}
