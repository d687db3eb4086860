// LoRA adapters (Hu et al., arXiv:2106.09685) on a frozen CausalLM's projections: y = W x + (α/r)·B A
// dropout(x), A [r, in] and B [out, r], named and initialised as PEFT does, so the saved adapter is a
// PEFT adapter. Only the adapters are variables that train; the base stays as loaded. Saving and
// loading adapter folders: lora-files.ts.
import * as tf from '@tensorflow/tfjs';
import { ModelConfig, expectedWeights } from './config';
import { matmulWeightT } from './ops';
import { Rng } from '../rng';
import type { WeightData } from './transformer';

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names (the last part of a module path, e.g. "c_attn", "q_proj"), or "all-linear". */
  targetModules: string[] | 'all-linear';
}

/** A projection that can carry an adapter: its module path (HF) and sizes. */
export interface LoraModule {
  path: string;
  inDim: number;
  outDim: number;
  /** GPT-2's Conv1D keeps its weight as [in, out] (PEFT's fan_in_fan_out); nn.Linear as [out, in]. */
  conv1d: boolean;
}

/** PEFT's prefix of every adapter tensor name (PeftModel -> LoraModel -> the transformers model). */
const PEFT_PREFIX = 'base_model.model.';

export const loraKeyA = (module: string) => `${PEFT_PREFIX}${module}.lora_A.weight`;
export const loraKeyB = (module: string) => `${PEFT_PREFIX}${module}.lora_B.weight`;

/** The settings from a run config's flat fields; undefined when lora_r is 0 (LoRA off). */
export function loraSettingsOf(c: {
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
  lora_target_modules: string[] | string;
}): LoraSettings | undefined {
  if (c.lora_r <= 0) return undefined;
  const t = c.lora_target_modules;
  // A string other than "all-linear" is a comma-separated list (the CLI flag's form, as the torch engine reads it).
  const targetModules = t === 'all-linear' ? 'all-linear' : (Array.isArray(t) ? t : t.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  return { r: c.lora_r, alpha: c.lora_alpha, dropout: c.lora_dropout, targetModules };
}

/**
 * Every linear projection inside the blocks (PEFT's "all-linear": every Linear/Conv1D but the output
 * head), in the model's weight order. Norms, biases and embeddings are not projections.
 */
export function linearModules(c: ModelConfig): LoraModule[] {
  const out: LoraModule[] = [];
  for (const [name, shape] of expectedWeights(c)) {
    if (shape.length !== 2 || !name.endsWith('.weight')) continue;
    if (!/^(transformer\.h|model\.layers)\.\d+\./.test(name)) continue; // embeddings, positions, lm_head
    const path = name.slice(0, -'.weight'.length);
    const conv1d = c.family === 'gpt2';
    out.push({ path, conv1d, inDim: conv1d ? shape[0] : shape[1], outDim: conv1d ? shape[1] : shape[0] });
  }
  return out;
}

/** The modules that `targets` selects (PEFT matches a name against the module path's end); an unknown name is an error. */
export function targetedModules(c: ModelConfig, targets: LoraSettings['targetModules']): LoraModule[] {
  const all = linearModules(c);
  if (targets === 'all-linear') return all;
  const short = (m: LoraModule) => m.path.slice(m.path.lastIndexOf('.') + 1);
  const matches = (m: LoraModule, t: string) => m.path === t || m.path.endsWith(`.${t}`);
  const known = [...new Set(all.map(short))];
  for (const t of targets) {
    if (!all.some((m) => matches(m, t)))
      throw new Error(
        `lora_target_modules: "${t}" names no projection of this ${c.architecture}; its projections are ${known.join(', ')} (or use "all-linear")`,
      );
  }
  if (targets.length === 0) throw new Error(`lora_target_modules: empty; name some of ${known.join(', ')}, or use "all-linear"`);
  return all.filter((m) => targets.some((t) => matches(m, t)));
}

/** PEFT's default A init (kaiming_uniform_ with a = √5): U(−1/√in, 1/√in). B starts at zero. */
function initialA(m: LoraModule, r: number, rng: Rng): Float32Array {
  const bound = 1 / Math.sqrt(m.inDim);
  const data = new Float32Array(r * m.inDim);
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
  return data;
}

let nextAdapterId = 0;

export class LoraAdapters {
  /** A and B by PEFT tensor name: the variables that train (and the optimizer's keys). */
  readonly variables = new Map<string, tf.Variable>();
  readonly modules: Map<string, LoraModule & { index: number }>;
  readonly scale: number;
  /** Off: the base model alone (the DPO reference). */
  enabled = true;
  /** Dropout applies only while a training forward pass runs; the seed makes each pass's masks repeatable. */
  private dropoutSeed?: number;

  /** Adapters for `modules`: loaded from `weights` (PEFT names) or, without them, PEFT's initialisation from `seed`. */
  constructor(
    readonly settings: LoraSettings,
    modules: LoraModule[],
    init: { seed: number } | { weights: Map<string, WeightData> },
  ) {
    this.scale = settings.alpha / settings.r;
    this.modules = new Map(modules.map((m, index) => [m.path, { ...m, index }]));
    const prefix = `lora${nextAdapterId++}/`; // tfjs variable names are global
    const rng = 'seed' in init ? new Rng(init.seed) : undefined;
    const r = settings.r;
    for (const m of modules) {
      const shapes: [string, number[]][] = [
        [loraKeyA(m.path), [r, m.inDim]],
        [loraKeyB(m.path), [m.outDim, r]],
      ];
      for (const [key, shape] of shapes) {
        let data: Float32Array;
        if (rng) data = key.endsWith('lora_A.weight') ? initialA(m, r, rng) : new Float32Array(shape[0] * shape[1]);
        else {
          const w = (init as { weights: Map<string, WeightData> }).weights.get(key);
          if (!w) throw new Error(`the adapter has no tensor '${key}'`);
          if (w.shape.join(',') !== shape.join(',')) throw new Error(`adapter tensor '${key}' has shape [${w.shape}] but r ${r} and the model need [${shape}]`);
          data = w.data;
        }
        const t = tf.tensor(data, shape, 'float32');
        this.variables.set(key, tf.variable(t, true, prefix + key));
        t.dispose();
      }
    }
  }

  numParameters(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  /** Dropout on for the forward passes until endTraining(); `seed` fixes their masks (a resumed run draws the same). */
  beginTraining(seed: number): void {
    this.dropoutSeed = seed;
  }

  endTraining(): void {
    this.dropoutSeed = undefined;
  }

  /** The adapter's term (α/r)·B A dropout(x) for module `path`, x: [..., in] -> [..., out]; undefined when none applies. */
  delta(path: string, x: tf.Tensor): tf.Tensor | undefined {
    const m = this.modules.get(path);
    if (!this.enabled || !m) return undefined;
    const lead = x.shape.slice(0, -1);
    let x2 = tf.reshape(x, [-1, m.inDim]) as tf.Tensor2D; // [N, in]
    // One seed per (pass, module): a block recomputed in the backward pass draws the same mask.
    if (this.dropoutSeed !== undefined && this.settings.dropout > 0)
      x2 = tf.dropout(x2, this.settings.dropout, undefined, this.dropoutSeed + m.index) as tf.Tensor2D;
    const a = this.variables.get(loraKeyA(path)) as unknown as tf.Tensor2D;
    const b = this.variables.get(loraKeyB(path)) as unknown as tf.Tensor2D;
    const low = matmulWeightT(x2, a); // [N, r]
    return tf.reshape(tf.mul(matmulWeightT(low, b), this.scale), [...lead, m.outDim]); // [..., out]
  }

  /** The adapter tensors by PEFT name, for adapter_model.safetensors. */
  async read(): Promise<Map<string, WeightData>> {
    const out = new Map<string, WeightData>();
    for (const [key, v] of this.variables) out.set(key, { shape: v.shape, data: (await v.data()) as Float32Array });
    return out;
  }

  /**
   * The base weights with the adapters folded in (PEFT's merge_and_unload): W + (α/r)·B A for
   * nn.Linear [out, in], its transpose added for Conv1D [in, out]. Replaces entries of `base`.
   */
  async mergeInto(base: Map<string, WeightData>): Promise<void> {
    for (const m of this.modules.values()) {
      const name = `${m.path}.weight`;
      const w = base.get(name);
      if (!w) throw new Error(`no base weight '${name}' to merge into`);
      const merged = tf.tidy(() => {
        const a = this.variables.get(loraKeyA(m.path))!;
        const b = this.variables.get(loraKeyB(m.path))!;
        const ba = tf.mul(tf.matMul(b, a), this.scale); // [out, in]
        return tf.add(tf.tensor(w.data, w.shape), m.conv1d ? tf.transpose(ba) : ba);
      });
      base.set(name, { shape: w.shape, data: (await merged.data()) as Float32Array });
      merged.dispose();
    }
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
