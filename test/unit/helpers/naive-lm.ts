// An independent reference: the same transformer written as plain float64 loops over the weight
// arrays, one position at a time, with no tfjs. Slow and obvious on purpose; tests compare the
// engine's log-probs against it.
import { ModelConfig } from '../../../src/engine/model/config';
import { WeightData } from '../../../src/engine/model/transformer';

type Vec = Float64Array;

export class NaiveLM {
  constructor(
    private readonly c: ModelConfig,
    private readonly w: Map<string, WeightData>,
  ) {}

  private get(name: string): Float32Array {
    const t = this.w.get(name);
    if (!t) throw new Error(`naive: no weight ${name}`);
    return t.data;
  }

  private row(name: string, r: number, cols: number): Vec {
    return Float64Array.from(this.get(name).subarray(r * cols, (r + 1) * cols));
  }

  /** y = x W (+ b), W stored [in, out] (GPT-2 Conv1D). */
  private conv1d(x: Vec, name: string, outDim: number): Vec {
    const W = this.get(`${name}.weight`);
    const b = this.get(`${name}.bias`);
    const y = new Float64Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < x.length; i++) s += x[i] * W[i * outDim + o];
      y[o] = s;
    }
    return y;
  }

  /** y = W x (+ b), W stored [out, in] (nn.Linear). */
  private linear(x: Vec, name: string, outDim: number, bias: boolean): Vec {
    const W = this.get(`${name}.weight`);
    const b = bias ? this.get(`${name}.bias`) : undefined;
    const y = new Float64Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < x.length; i++) s += W[o * x.length + i] * x[i];
      y[o] = s;
    }
    return y;
  }

  private layerNorm(x: Vec, name: string): Vec {
    const w = this.get(`${name}.weight`);
    const b = this.get(`${name}.bias`);
    let mean = 0;
    for (const v of x) mean += v;
    mean /= x.length;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2;
    variance /= x.length;
    const inv = 1 / Math.sqrt(variance + this.c.normEps);
    return x.map((v, i) => (v - mean) * inv * w[i] + b[i]);
  }

  private rmsNorm(x: Vec, name: string): Vec {
    const w = this.get(`${name}.weight`);
    let ms = 0;
    for (const v of x) ms += v * v;
    ms /= x.length;
    const inv = 1 / Math.sqrt(ms + this.c.normEps);
    return x.map((v, i) => v * inv * w[i]);
  }

  private rope(vec: Vec, pos: number): Vec {
    const hd = this.c.headDim;
    const half = hd / 2;
    const out = new Float64Array(hd);
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.fround(1 / Math.fround(this.c.ropeTheta ** ((2 * i) / hd)));
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      out[i] = vec[i] * cos - vec[i + half] * sin;
      out[i + half] = vec[i + half] * cos + vec[i] * sin;
    }
    return out;
  }

  /** Causal attention over per-position q [T][H*hd], k/v [T][KV*hd]; returns [T][H*hd]. */
  private attention(q: Vec[], k: Vec[], v: Vec[]): Vec[] {
    const { numHeads: H, numKvHeads: KV, headDim: hd } = this.c;
    const rep = H / KV;
    const T = q.length;
    const out = q.map(() => new Float64Array(H * hd));
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / rep);
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[t][h * hd + i] * k[s][kvh * hd + i];
          scores.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) {
          for (let i = 0; i < hd; i++) out[t][h * hd + i] += (e[s] / z) * v[s][kvh * hd + i];
        }
      }
    }
    return out;
  }

  /** Final hidden states for one sequence. */
  hidden(ids: number[]): Vec[] {
    const c = this.c;
    const D = c.hiddenSize;
    if (c.family === 'gpt2') {
      let x = ids.map((id, t) => {
        const e = this.row('transformer.wte.weight', id, D);
        const p = this.row('transformer.wpe.weight', t, D);
        return e.map((v, i) => v + p[i]);
      });
      for (let l = 0; l < c.numLayers; l++) {
        const p = `transformer.h.${l}.`;
        const qkv = x.map((xt) => this.conv1d(this.layerNorm(xt, `${p}ln_1`), `${p}attn.c_attn`, 3 * D));
        const att = this.attention(
          qkv.map((a) => a.slice(0, D)),
          qkv.map((a) => a.slice(D, 2 * D)),
          qkv.map((a) => a.slice(2 * D)),
        );
        x = x.map((xt, t) => {
          const proj = this.conv1d(att[t], `${p}attn.c_proj`, D);
          return xt.map((v, i) => v + proj[i]);
        });
        x = x.map((xt) => {
          const hmid = this.conv1d(this.layerNorm(xt, `${p}ln_2`), `${p}mlp.c_fc`, c.intermediateSize).map(
            (u) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3))),
          );
          const o = this.conv1d(hmid, `${p}mlp.c_proj`, D);
          return xt.map((v, i) => v + o[i]);
        });
      }
      return x.map((xt) => this.layerNorm(xt, 'transformer.ln_f'));
    }
    const { numHeads: H, numKvHeads: KV, headDim: hd } = c;
    let x = ids.map((id) => this.row('model.embed_tokens.weight', id, D));
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}.`;
      const a = x.map((xt) => this.rmsNorm(xt, `${p}input_layernorm`));
      const ropeHeads = (vec: Vec, heads: number, t: number) => {
        const out = new Float64Array(heads * hd);
        for (let h = 0; h < heads; h++) out.set(this.rope(vec.slice(h * hd, (h + 1) * hd), t), h * hd);
        return out;
      };
      const q = a.map((at, t) => ropeHeads(this.linear(at, `${p}self_attn.q_proj`, H * hd, c.attentionBias), H, t));
      const k = a.map((at, t) => ropeHeads(this.linear(at, `${p}self_attn.k_proj`, KV * hd, c.attentionBias), KV, t));
      const v = a.map((at) => this.linear(at, `${p}self_attn.v_proj`, KV * hd, c.attentionBias));
      const att = this.attention(q, k, v);
      x = x.map((xt, t) => {
        const o = this.linear(att[t], `${p}self_attn.o_proj`, D, false);
        return xt.map((val, i) => val + o[i]);
      });
      x = x.map((xt) => {
        const m = this.rmsNorm(xt, `${p}post_attention_layernorm`);
        const g = this.linear(m, `${p}mlp.gate_proj`, c.intermediateSize, false);
        const u = this.linear(m, `${p}mlp.up_proj`, c.intermediateSize, false);
        const hmid = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
        const o = this.linear(hmid, `${p}mlp.down_proj`, D, false);
        return xt.map((val, i) => val + o[i]);
      });
    }
    return x.map((xt) => this.rmsNorm(xt, 'model.norm'));
  }

  /** log p(ids[t+1] | ids[..t]) for t = 0..T-2, by a full softmax over the vocabulary. */
  tokenLogps(ids: number[]): number[] {
    const c = this.c;
    const head = c.tieWordEmbeddings ? (c.family === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight') : 'lm_head.weight';
    const H = this.get(head);
    const hs = this.hidden(ids);
    const out: number[] = [];
    for (let t = 0; t + 1 < ids.length; t++) {
      const logits = new Float64Array(c.vocabSize);
      for (let v = 0; v < c.vocabSize; v++) {
        let s = 0;
        for (let i = 0; i < c.hiddenSize; i++) s += hs[t][i] * H[v * c.hiddenSize + i];
        logits[v] = s;
      }
      let m = -Infinity;
      for (const l of logits) m = Math.max(m, l);
      let z = 0;
      for (const l of logits) z += Math.exp(l - m);
      out.push(logits[ids[t + 1]] - m - Math.log(z));
    }
    return out;
  }

  /** Summed log-prob of the response that follows `prompt`. */
  responseLogp(prompt: number[], response: number[]): number {
    const lp = this.tokenLogps([...prompt, ...response]);
    let s = 0;
    for (let t = prompt.length - 1; t < lp.length; t++) s += lp[t];
    return s;
  }
}
