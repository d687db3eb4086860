// AdamW (decoupled weight decay, Loshchilov & Hutter) over the model's variables, with its state
// held in named variables so that checkpoints save and restore it exactly. tf.train.adam has no
// weight decay and no way to export its state by weight name, hence this.
import * as tf from '@tensorflow/tfjs';
import { WeightData } from '../model/transformer';

export interface AdamWParams {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** Biases and norm gains are not decayed (the Hugging Face Trainer's rule). */
export function isDecayed(name: string): boolean {
  return !(name.endsWith('.bias') || /(ln_\d|ln_f|layernorm|norm)\.weight$/.test(name));
}

export class AdamW {
  /** Optimizer steps taken (t in the bias corrections). */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly weights: Map<string, tf.Variable>,
    private readonly p: AdamWParams,
  ) {
    // tf.variable keeps its own reference to the data; tidy disposes the initial handles.
    tf.tidy(() => {
      for (const [name, w] of weights) {
        this.m.set(name, tf.variable(tf.zerosLike(w), false));
        this.v.set(name, tf.variable(tf.zerosLike(w), false));
      }
    });
  }

  /**
   * One update with gradients by weight name, times `gradScale` (the clipping factor). PyTorch's order: decay the weight
   * by lr·λ, then w −= lr · m̂ / (√v̂ + ε).
   */
  apply(grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    this.step++;
    const { beta1, beta2, epsilon, weightDecay } = this.p;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    // One tidy per weight: the update's temporaries (several weight-sized tensors) then exist for one
    // weight at a time, not for the whole model (for GPT-2-small, ~3 GB less at the step's peak).
    for (const [name, w] of this.weights) {
      tf.tidy(() => {
        const gIn = grads.get(name);
        if (!gIn) throw new Error(`no gradient for ${name}`);
        const g = gradScale === 1 ? gIn : tf.mul(gIn, gradScale); // clipping, per weight rather than a clipped copy of all
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
        const decayed = weightDecay > 0 && isDecayed(name) ? tf.mul(w, 1 - lr * weightDecay) : w;
        w.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
  }

  async exportState(): Promise<Map<string, WeightData>> {
    const out = new Map<string, WeightData>();
    for (const [name, m] of this.m) out.set(`exp_avg.${name}`, { shape: m.shape, data: (await m.data()) as Float32Array });
    for (const [name, v] of this.v) out.set(`exp_avg_sq.${name}`, { shape: v.shape, data: (await v.data()) as Float32Array });
    return out;
  }

  importState(state: Map<string, WeightData>, step: number): void {
    for (const [prefix, vars] of [
      ['exp_avg', this.m],
      ['exp_avg_sq', this.v],
    ] as const) {
      for (const [name, variable] of vars) {
        const s = state.get(`${prefix}.${name}`);
        if (!s) throw new Error(`optimizer state has no ${prefix}.${name}`);
        tf.tidy(() => variable.assign(tf.tensor(s.data, s.shape)));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** Global L2 norm of all gradients, and the factor that clips it to maxNorm (1 when within). */
export function clipFactor(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}
