// Rotary embedding frequencies as transformers computes them: the default RoPE, linear scaling
// and Llama 3.1's "llama3" frequency bands. Other scalings (yarn, longrope, dynamic) are refused by
// config.ts rather than approximated: a wrong frequency silently shifts every log-prob.

export type RopeScaling =
  { type: 'linear'; factor: number } | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface RopeSpec {
  theta: number;
  scaling?: RopeScaling;
}

/** inv_freq [headDim/2], rounded to float32 at each step where transformers computes in float32. */
export function ropeInvFreq(spec: RopeSpec, headDim: number): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / Math.fround(spec.theta ** Math.fround((2 * i) / headDim)));
  const s = spec.scaling;
  if (s?.type === 'linear') for (let i = 0; i < half; i++) inv[i] = Math.fround(inv[i] / s.factor);
  if (s?.type === 'llama3') {
    // Long wavelengths are interpolated by `factor`, short ones kept, the band between blended.
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i];
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) inv[i] = Math.fround(f / s.factor);
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = Math.fround((1 - smooth) * (f / s.factor) + smooth * f);
      }
    }
  }
  return inv;
}

/** cos and sin tables [maxPositions, headDim] in HF's rotate_half layout (both halves equal). */
export function ropeTablesFor(spec: RopeSpec, maxPositions: number, headDim: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const inv = ropeInvFreq(spec, headDim);
  const cos = new Float32Array(maxPositions * headDim);
  const sin = new Float32Array(maxPositions * headDim);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * inv[i]); // the float32 product positions @ inv_freq
      cos[p * headDim + i] = cos[p * headDim + i + half] = Math.cos(angle);
      sin[p * headDim + i] = sin[p * headDim + i + half] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Reads one rope_scaling / rope_parameters object; throws a message for kinds we do not implement. */
export function parseRopeScaling(v: Record<string, unknown> | null | undefined, maxPositions: number): RopeScaling | undefined {
  if (v == null) return undefined;
  const type = (v.rope_type ?? v.type ?? 'default') as string;
  const n = (key: string): number => {
    const x = v[key];
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0)
      throw new Error(`rope scaling '${type}' needs a positive number '${key}', got ${JSON.stringify(x)}`);
    return x;
  };
  if (type === 'default') return undefined;
  if (type === 'linear') return { type, factor: n('factor') };
  if (type === 'llama3') {
    return {
      type,
      factor: n('factor'),
      lowFreqFactor: n('low_freq_factor'),
      highFreqFactor: n('high_freq_factor'),
      originalMaxPositions: typeof v.original_max_position_embeddings === 'number' ? v.original_max_position_embeddings : maxPositions,
    };
  }
  throw new Error(`rope scaling ${JSON.stringify(type)} is not supported (supported: default, linear, llama3)`);
}
