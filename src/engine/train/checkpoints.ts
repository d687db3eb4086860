// Checkpoints and the final save. A checkpoint is a full Hugging Face folder (loadable as it is)
// plus optimizer.safetensors and trainer_state.json, written last: its presence marks the folder
// complete. final/ is written to final.tmp and renamed, so it too is whole or absent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TRAINER_STATE } from '../../protocol';
import { RunFolder } from '../../node/run-folder';
import { CausalLM, WeightData } from '../model/transformer';
import { saveModel } from '../model/checkpoint';
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
      await saveModel(policy, tmp, { tokenizerFrom });
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

export async function saveFinal(folder: RunFolder, policy: CausalLM, tokenizerFrom: string): Promise<string> {
  const finalDir = folder.file('final');
  fs.rmSync(finalDir, { recursive: true, force: true });
  await saveModel(policy, `${finalDir}.tmp`, { tokenizerFrom });
  fs.rmSync(finalDir, { recursive: true, force: true });
  fs.renameSync(`${finalDir}.tmp`, finalDir);
  return finalDir;
}
