// AdamW (decoupled weight decay, Loshchilov & Hutter) over the model's variables, with its state
// held in named variables so that checkpoints save and restore it exactly. tf.train.adam has no
// weight decay and no way to export its state by weight name, hence this. On wasm the moments are
// plain Float32Arrays outside the 4 GiB heap (see momentPlacementFor); elsewhere tf.Variables.
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

/** Where AdamW's moments live: 'device' as tf.Variables, 'host' as JS Float32Arrays. */
export type MomentPlacement = 'device' | 'host';

/**
 * The one place the placement is chosen, by backend name. wasm: the moments are twice the trained
 * weights (0.93 GiB for GPT-2-small) inside a heap of at most 4 GiB that also holds the weights,
 * XNNPACK's packed copies, the gradients and the step's temporaries; JS arrays sit outside it, and
 * wasm's dataSync is a memcpy anyway. webgpu and tfjs-node keep them on the device: a read-back and
 * upload of every weight each step would cost more than the memory is worth there.
 */
export function momentPlacementFor(backend: string): MomentPlacement {
  return backend === 'wasm' ? 'host' : 'device';
}

export class AdamW {
  /** Optimizer steps taken (t in the bias corrections). */
  step = 0;
  readonly placement: MomentPlacement;
  private readonly m = new Map<string, tf.Variable | Float32Array>();
  private readonly v = new Map<string, tf.Variable | Float32Array>();

  constructor(
    private readonly weights: Map<string, tf.Variable>,
    private readonly p: AdamWParams,
    placement: MomentPlacement = momentPlacementFor(tf.getBackend()),
  ) {
    this.placement = placement;
    if (placement === 'host') {
      for (const [name, w] of weights) {
        this.m.set(name, new Float32Array(w.size));
        this.v.set(name, new Float32Array(w.size));
      }
      return;
    }
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
    const { beta1, beta2, weightDecay } = this.p;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    for (const [name, w] of this.weights) {
      const g = grads.get(name);
      if (!g) throw new Error(`no gradient for ${name}`);
      const decay = weightDecay > 0 && isDecayed(name) ? lr * weightDecay : 0;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      if (m instanceof Float32Array) this.applyHost(w, g, m, v as Float32Array, lr, decay, gradScale, bc1, bc2);
      else this.applyDevice(w, g, m, v as tf.Variable, lr, decay, gradScale, bc1, bc2);
    }
  }

  // One tidy per weight: the update's temporaries (several weight-sized tensors) then exist for one
  // weight at a time, not for the whole model (for GPT-2-small, ~3 GB less at the step's peak).
  private applyDevice(w: tf.Variable, gIn: tf.Tensor, m: tf.Variable, v: tf.Variable, lr: number, decay: number, gradScale: number, bc1: number, bc2: number) {
    const { beta1, beta2, epsilon } = this.p;
    tf.tidy(() => {
      const g = gradScale === 1 ? gIn : tf.mul(gIn, gradScale); // clipping, per weight rather than a clipped copy of all
      m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
      const decayed = decay > 0 ? tf.mul(w, 1 - decay) : w;
      w.assign(tf.sub(decayed, tf.mul(update, lr)));
    });
  }

  // The same recurrences in a JS loop (float64 arithmetic, float32 storage). dataSync copies the
  // gradient and weight out of the heap; the new weight is the only weight-sized tensor made, and
  // assign frees the old one, so the heap holds one extra weight at a time.
  private applyHost(w: tf.Variable, gIn: tf.Tensor, m: Float32Array, v: Float32Array, lr: number, decay: number, gradScale: number, bc1: number, bc2: number) {
    const { beta1, beta2, epsilon } = this.p;
    const g = gIn.dataSync();
    // A fresh array: on the cpu backend dataSync returns the tensor's own storage.
    const next = Float32Array.from(w.dataSync());
    for (let i = 0; i < next.length; i++) {
      const gi = g[i] * gradScale;
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      next[i] = next[i] * (1 - decay) - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + epsilon);
    }
    tf.tidy(() => w.assign(tf.tensor(next, w.shape, 'float32')));
  }

  async exportState(): Promise<Map<string, WeightData>> {
    const out = new Map<string, WeightData>();
    const shapeOf = (name: string) => this.weights.get(name)!.shape;
    // Host moments are handed out as they are (no copy): the caller writes them before the next step.
    const read = async (name: string, t: tf.Variable | Float32Array) =>
      t instanceof Float32Array ? { shape: shapeOf(name), data: t } : { shape: t.shape, data: (await t.data()) as Float32Array };
    for (const [name, m] of this.m) out.set(`exp_avg.${name}`, await read(name, m));
    for (const [name, v] of this.v) out.set(`exp_avg_sq.${name}`, await read(name, v));
    return out;
  }

  importState(state: Map<string, WeightData>, step: number): void {
    for (const [prefix, moments] of [
      ['exp_avg', this.m],
      ['exp_avg_sq', this.v],
    ] as const) {
      for (const [name, moment] of moments) {
        const s = state.get(`${prefix}.${name}`);
        if (!s) throw new Error(`optimizer state has no ${prefix}.${name}`);
        if (moment instanceof Float32Array) {
          if (s.data.length !== moment.length) throw new Error(`optimizer state ${prefix}.${name} has ${s.data.length} values, the weight ${moment.length}`);
          moment.set(s.data);
        } else tf.tidy(() => moment.assign(tf.tensor(s.data, s.shape)));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) if (!(t instanceof Float32Array)) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Global L2 norm of all gradients, and the factor that clips it to maxNorm (1 when within). */
export function clipFactor(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}
