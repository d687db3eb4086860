// Tiny reward models for tests: the project's tiny causal model re-saved as transformers saves a
// `*ForSequenceClassification` (no lm_head, a `score.weight` [labels, D], id2label, pad_token_id).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { TinyModelOptions } from '../../../src/engine/model/tiny';
import { encodeSafetensors } from '../../../src/engine/model/safetensors';
import { Rng } from '../../../src/engine/rng';
import { tinyModel } from './fixtures';

export interface TinyRewardOptions extends Partial<TinyModelOptions> {
  /** config.json's pad_token_id; null writes none. Default 256, the tiny tokenizer's EOS (TRL's pad when none is set). */
  padId?: number | null;
  labels?: number;
}

/** Writes a reward model folder to `dir`; also returns the causal model it was made from (`dir`-causal). */
export function tinyRewardModel(dir: string, options: TinyRewardOptions = {}): { dir: string; causalDir: string; score: Float32Array } {
  const { padId = 256, labels = 1, ...model } = options;
  const causalDir = tinyModel(`${dir}-causal`, model);
  const { config, weights } = readModelWeights(causalDir);
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(model.seed ?? 0);
  const score = new Float32Array(labels * config.hiddenSize).map(() => rng.normal());
  const tensors = [...weights].filter(([name]) => name !== 'lm_head.weight').map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  tensors.push({ name: 'score.weight', shape: [labels, config.hiddenSize], data: score });
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  const architecture = config.family === 'gpt2' ? 'GPT2ForSequenceClassification' : 'LlamaForSequenceClassification';
  const id2label = Object.fromEntries(Array.from({ length: labels }, (_, i) => [String(i), `LABEL_${i}`]));
  const raw = { ...config.raw, architectures: [architecture], id2label, pad_token_id: padId };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(causalDir, f), path.join(dir, f));
  return { dir, causalDir, score };
}
