// Loads a Hugging Face model folder (config.json + model.safetensors, or shards with
// model.safetensors.index.json) into a CausalLM, and saves one back in the same layout so that
// transformers' from_pretrained loads it. Pickle weights are refused: unpickling executes code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstNonFinite } from './finite';
import { ModelConfig, ModelConfigError, expectedWeights, parseModelConfig } from './config';
import { integralFloatKeys, stringifyKeepingFloats } from './config-json';
import { SafetensorsFile, encodeSafetensors, readSafetensors, tensorToFloat32 } from './safetensors';
import { CausalLM, WeightData } from './transformer';
import { TOKENIZER_FILES } from '../tokenizer/tokenizer';
import { isAdapterDir, readAdapterConfig, readAdapterWeights } from './adapter-files';
import { LoraAdapters, targetedModules } from './lora';

export class CheckpointError extends Error {}

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';
const PICKLE_FILES = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'model.bin', 'tf_model.h5', 'flax_model.msgpack'];

/** Non-weight buffers some checkpoints carry (GPT-2's attention masks, Llama's inv_freq). */
function isIgnoredBuffer(name: string): boolean {
  return /\.attn\.(masked_)?bias$/.test(name) || name.endsWith('rotary_emb.inv_freq');
}

/** The original GPT-2 checkpoints store names without the `transformer.` prefix (heads sit outside it). */
function canonicalName(config: ModelConfig, name: string): string {
  if (config.family === 'gpt2' && !name.startsWith('transformer.') && name !== 'lm_head.weight' && name !== 'score.weight') return `transformer.${name}`;
  return name;
}

export function readModelConfig(dir: string): ModelConfig {
  if (isAdapterDir(dir)) return readModelConfig(readAdapterConfig(dir).baseDir); // a LoRA adapter: its base's config
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new CheckpointError(`${dir}: not a folder; a model is a folder with config.json and model.safetensors`);
  if (!fs.existsSync(file)) throw new CheckpointError(`${file}: missing; a model folder needs the Hugging Face config.json`);
  let raw: unknown;
  const text = fs.readFileSync(file, 'utf8');
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${file}: invalid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointError(`${file}: not a JSON object`);
  try {
    return { ...parseModelConfig(raw as Record<string, unknown>, file), floatKeys: integralFloatKeys(text) };
  } catch (err) {
    if (err instanceof ModelConfigError) throw new CheckpointError(err.message);
    throw err;
  }
}

/** The safetensors files of a model folder, in index order. */
function weightFiles(dir: string): string[] {
  const index = path.join(dir, INDEX_FILE);
  if (fs.existsSync(index)) {
    let parsed: { weight_map?: Record<string, string> };
    try {
      parsed = JSON.parse(fs.readFileSync(index, 'utf8'));
    } catch (err) {
      throw new CheckpointError(`${index}: invalid JSON (${(err as Error).message})`);
    }
    if (!parsed.weight_map || typeof parsed.weight_map !== 'object') throw new CheckpointError(`${index}: no "weight_map" object`);
    const files = [...new Set(Object.values(parsed.weight_map))];
    for (const f of files) {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\')) throw new CheckpointError(`${index}: bad shard name ${JSON.stringify(f)}`);
      if (!fs.existsSync(path.join(dir, f))) throw new CheckpointError(`${path.join(dir, f)}: shard listed in ${INDEX_FILE} is missing`);
    }
    return files.map((f) => path.join(dir, f));
  }
  if (fs.existsSync(path.join(dir, SINGLE_FILE))) return [path.join(dir, SINGLE_FILE)];
  const pickle = PICKLE_FILES.find((f) => fs.existsSync(path.join(dir, f)));
  if (pickle) {
    throw new CheckpointError(
      `${path.join(dir, pickle)}: only non-safetensors weights found; pickle/.bin weights are refused because loading them can execute code. ` +
        `Convert once with transformers: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`,
    );
  }
  throw new CheckpointError(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}`);
}

export interface LoadedWeights {
  config: ModelConfig;
  weights: Map<string, WeightData>;
  /** Dtype each weight had on disk (all computed in float32). */
  dtypes: Map<string, string>;
  warnings: string[];
}

/**
 * Reads and checks every weight of a folder without creating tensors. `config` and `extra` (weights
 * beyond the transformer's, e.g. a reward model's score head) serve folders config.json alone does not describe.
 */
export function readModelWeights(dir: string, config = readModelConfig(dir), extra: ReadonlyMap<string, number[]> = new Map()): LoadedWeights {
  const expected = new Map([...expectedWeights(config), ...extra]);
  const weights = new Map<string, WeightData>();
  const dtypes = new Map<string, string>();
  const where = new Map<string, string>();
  const warnings: string[] = [];
  const files = weightFiles(dir);
  for (const file of files) {
    let st: SafetensorsFile;
    try {
      st = readSafetensors(file);
    } catch (err) {
      throw new CheckpointError((err as Error).message);
    }
    for (const [rawName, info] of st.tensors) {
      const name = canonicalName(config, rawName);
      if (isIgnoredBuffer(name)) continue;
      const shape = expected.get(name);
      if (!shape) {
        // A tied model may still carry a copy of the head; transformers ignores it too.
        if (!(name === 'lm_head.weight' && config.tieWordEmbeddings)) warnings.push(`${file}: tensor '${rawName}' is not used by ${config.architecture}`);
        continue;
      }
      if (info.shape.join(',') !== shape.join(',')) {
        throw new CheckpointError(`${file}: tensor '${rawName}' has shape [${info.shape}] but ${config.architecture} with this config.json needs [${shape}]`);
      }
      if (where.has(name)) throw new CheckpointError(`${file}: tensor '${rawName}' also appears in ${where.get(name)}`);
      try {
        const t = tensorToFloat32(st, rawName);
        const bad = firstNonFinite(t.data);
        if (bad >= 0)
          throw new CheckpointError(
            `${file}: tensor '${rawName}' holds ${t.data[bad]} at index ${bad}: the weights are corrupt (NaN/Inf); use another copy of the model`,
          );
        weights.set(name, { shape: t.shape, data: t.data });
        dtypes.set(name, t.dtype);
      } catch (err) {
        throw new CheckpointError((err as Error).message);
      }
      where.set(name, file);
    }
  }
  const missing = [...expected.keys()].filter((n) => !weights.has(n));
  if (missing.length > 0) {
    const shown = missing
      .slice(0, 5)
      .map((n) => `'${n}'`)
      .join(', ');
    throw new CheckpointError(
      `${files.join(', ')}: missing ${missing.length} tensor(s) that ${config.architecture} needs: ${shown}${missing.length > 5 ? ', …' : ''}`,
    );
  }
  return { config, weights, dtypes, warnings };
}

/**
 * A model folder as a CausalLM; a PEFT LoRA adapter folder (adapter_config.json, no config.json) as
 * its frozen base with the adapter attached.
 */
export function loadModel(dir: string, options: { trainable?: boolean } = {}): { model: CausalLM; warnings: string[] } {
  if (isAdapterDir(dir)) {
    const { settings, baseDir } = readAdapterConfig(dir);
    const { model, warnings } = loadModel(baseDir, { trainable: false });
    try {
      model.attachLora(new LoraAdapters(settings, targetedModules(model.config, settings.targetModules), { weights: readAdapterWeights(dir) }));
    } catch (err) {
      model.dispose();
      throw new CheckpointError(`${dir}: ${(err as Error).message}`);
    }
    return { model, warnings: [...warnings, `${dir}: LoRA adapter (r ${settings.r}) on the base model ${baseDir}`] };
  }
  const { config, weights, warnings } = readModelWeights(dir);
  return { model: new CausalLM(config, weights, options.trainable ?? true), warnings };
}

export interface SaveOptions {
  /** Folder whose tokenizer files are copied beside the weights. */
  tokenizerFrom?: string;
  /** Split into shards of at most this many bytes (HF names and index); default: one file. */
  maxShardBytes?: number;
}

/** The config.json to write: the source's fields plus what saving in float32 changes. */
export function configToSave(config: ModelConfig): Record<string, unknown> {
  return { ...config.raw, architectures: [config.architecture], torch_dtype: 'float32' };
}

export function saveWeights(dir: string, config: ModelConfig, weights: Map<string, WeightData>, options: SaveOptions = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), stringifyKeepingFloats(configToSave(config), config.floatKeys ?? []) + '\n');
  const tensors = [...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const maxShard = options.maxShardBytes ?? Infinity;
  const shards: (typeof tensors)[] = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.data.length * 4;
    if (shards[shards.length - 1].length > 0 && size + bytes > maxShard) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  for (const stale of [SINGLE_FILE, INDEX_FILE]) fs.rmSync(path.join(dir, stale), { force: true });
  if (shards.length === 1) {
    fs.writeFileSync(path.join(dir, SINGLE_FILE), encodeSafetensors(shards[0]));
  } else {
    const weightMap: Record<string, string> = {};
    const n = String(shards.length).padStart(5, '0');
    shards.forEach((shard, i) => {
      const name = `model-${String(i + 1).padStart(5, '0')}-of-${n}.safetensors`;
      fs.writeFileSync(path.join(dir, name), encodeSafetensors(shard));
      for (const t of shard) weightMap[t.name] = name;
    });
    const totalSize = tensors.reduce((a, t) => a + t.data.length * 4, 0);
    fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + '\n');
  }
  if (options.tokenizerFrom && path.resolve(options.tokenizerFrom) !== path.resolve(dir)) {
    for (const f of TOKENIZER_FILES) {
      const src = path.join(options.tokenizerFrom, f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
    }
  }
}

/** Saves a model's current weights as a Hugging Face folder. */
export async function saveModel(model: CausalLM, dir: string, options: SaveOptions = {}): Promise<void> {
  saveWeights(dir, model.config, await model.readWeights(), options);
}
