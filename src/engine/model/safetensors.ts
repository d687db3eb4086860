// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header
// of name -> {dtype, shape, data_offsets}, then raw little-endian bytes). Written by hand because it
// is a 40-line format and no well-kept npm library covers it; every error names the file and tensor.
import * as fs from 'node:fs';
import { DTYPE_BYTES, LoadableDtype, isLoadableDtype, toFloat32 } from './dtype';

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsFile {
  path: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section in the file. */
  dataStart: number;
  bytes: Uint8Array;
}

/** Headers larger than this are treated as corrupt (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {}

function fail(path: string, what: string): never {
  throw new SafetensorsError(`${path}: ${what}`);
}

/** Parses a safetensors file fully into memory and validates its header against its size. */
export function readSafetensors(path: string): SafetensorsFile {
  const bytes = fs.readFileSync(path);
  if (bytes.length < 8) fail(path, `corrupt safetensors file: ${bytes.length} bytes, too short for a header`);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) {
    fail(path, `corrupt safetensors header: header length ${headerLen} does not fit in a file of ${bytes.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (err) {
    fail(path, `corrupt safetensors header: not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(path, 'corrupt safetensors header: not a JSON object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(path, `tensor '${name}': header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(path, `tensor '${name}': unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(path, `tensor '${name}': bad shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(path, `tensor '${name}': bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expected) {
      fail(path, `tensor '${name}': data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`);
    }
    if (end > dataLen) fail(path, `tensor '${name}': data ends at byte ${end} but the data section has ${dataLen} bytes (truncated file?)`);
    tensors.set(name, { dtype, shape: shape as number[], dataOffsets: [begin, end] });
  }
  // Two tensors sharing bytes would alias each other's weights: the reference reader refuses it too.
  const spans = [...tensors].filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0]).sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1];
    const [name, t] = spans[i];
    if (t.dataOffsets[0] < prev.dataOffsets[1])
      fail(path, `tensors '${prevName}' [${prev.dataOffsets}] and '${name}' [${t.dataOffsets}] overlap in the data section (corrupt header)`);
  }
  return { path, tensors, metadata, dataStart, bytes };
}

/** Decodes one tensor to float32. Integer and 8-bit float tensors are refused by name. */
export function tensorToFloat32(file: SafetensorsFile, name: string): { shape: number[]; data: Float32Array; dtype: LoadableDtype } {
  const info = file.tensors.get(name);
  if (!info) fail(file.path, `tensor '${name}' not found`);
  if (!isLoadableDtype(info.dtype)) {
    fail(file.path, `tensor '${name}' has dtype ${info.dtype}; only F32, F16 and BF16 weights can be loaded`);
  }
  const [begin, end] = info.dataOffsets;
  const count = info.shape.reduce((a, b) => a * b, 1);
  const data = toFloat32(file.bytes.subarray(file.dataStart + begin, file.dataStart + end), info.dtype, count);
  return { shape: info.shape, data, dtype: info.dtype };
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * Serialises float32 tensors, names sorted (as the reference implementation does) so that the
 * same weights always give the same bytes. The header is padded with spaces to 8 bytes.
 */
export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of sorted) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError(`tensor '${t.name}': shape ${JSON.stringify(t.shape)} needs ${n} values, got ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of sorted) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, pos);
    pos += src.length;
  }
  return out;
}
