// Conversions from the safetensors dtypes we accept (F32, F16, BF16) to float32, which is what
// every tfjs backend computes in. Written by hand: a few bit operations, no library does only this.

export const LOADABLE_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type LoadableDtype = (typeof LOADABLE_DTYPES)[number];

export const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

export function isLoadableDtype(dtype: string): dtype is LoadableDtype {
  return (LOADABLE_DTYPES as readonly string[]).includes(dtype);
}

/** IEEE 754 half precision to float32, exact for every value including subnormals, inf and NaN. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes little-endian tensor bytes of a loadable dtype into a fresh Float32Array. */
export function toFloat32(bytes: Uint8Array, dtype: LoadableDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      // A copy (not a view): the byte offset inside the file need not be 4-aligned.
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32: widen by shifting into the high 16 bits.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
  }
  return out;
}
