import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { encodeSafetensors, readSafetensors, tensorToFloat32 } from '../../../src/engine/model/safetensors';
import { halfToFloat, toFloat32 } from '../../../src/engine/model/dtype';

const root = tempDir('safetensors');

/** A raw safetensors file with an arbitrary header and data, for the corrupt cases. */
function rawFile(name: string, header: unknown, data = Buffer.alloc(0), lengthOverride?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  const file = path.join(root, name);
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}

describe('safetensors', () => {
  it('round-trips float32 tensors bit for bit, names sorted, header 8-byte aligned', () => {
    const a = new Float32Array([1.5, -0, NaN, Infinity, 3.4028234663852886e38, 1e-45]);
    const b = new Float32Array([7, 8, 9, 10]);
    const bytes = encodeSafetensors([
      { name: 'z.weight', shape: [2, 3], data: a },
      { name: 'a.bias', shape: [4], data: b },
    ]);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    assert.equal(headerLen % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString());
    assert.deepEqual(Object.keys(header), ['__metadata__', 'a.bias', 'z.weight']);
    assert.deepEqual(header['a.bias'].data_offsets, [0, 16]);
    const file = path.join(root, 'rt.safetensors');
    fs.writeFileSync(file, bytes);
    const st = readSafetensors(file);
    const z = tensorToFloat32(st, 'z.weight');
    assert.deepEqual(z.shape, [2, 3]);
    assert.deepEqual(Buffer.from(z.data.buffer), Buffer.from(a.buffer));
  });

  it('decodes F16 (normal, subnormal, inf, NaN) and BF16 exactly', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.equal(halfToFloat(0x3555), 0.333251953125);
    const bf = Buffer.alloc(6);
    bf.writeUInt16LE(0x3f80, 0); // 1.0
    bf.writeUInt16LE(0xc049, 2); // -3.140625
    bf.writeUInt16LE(0x0001, 4); // smallest subnormal bf16
    assert.deepEqual(Array.from(toFloat32(bf, 'BF16', 3)), [1, -3.140625, 9.183549615799121e-41]);
  });

  const corrupt: [string, () => string, RegExp][] = [
    [
      'too short',
      () => {
        const f = path.join(root, 'short.safetensors');
        fs.writeFileSync(f, Buffer.from([1, 2, 3]));
        return f;
      },
      /short\.safetensors: corrupt safetensors file: 3 bytes/,
    ],
    [
      'header length past the end',
      () => rawFile('len.safetensors', {}, Buffer.alloc(0), 1000n),
      /len\.safetensors: corrupt safetensors header: header length 1000/,
    ],
    ['header not JSON', () => rawFile('json.safetensors', '{"a": nope}'), /json\.safetensors: corrupt safetensors header: not JSON/],
    [
      'offsets disagree with the shape',
      () => rawFile('off.safetensors', { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 8] } }, Buffer.alloc(8)),
      /off\.safetensors: tensor 'w': data_offsets \[0, 8\] hold 8 bytes but F32\[2,2\] needs 16/,
    ],
    [
      'data truncated',
      () => rawFile('trunc.safetensors', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)),
      /trunc\.safetensors: tensor 'w': data ends at byte 16 but the data section has 8 bytes/,
    ],
    [
      'unknown dtype',
      () => rawFile('dtype.safetensors', { w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, Buffer.alloc(16)),
      /tensor 'w': unknown dtype "F128"/,
    ],
  ];
  for (const [what, make, message] of corrupt) {
    it(`refuses a corrupt file (${what}) naming the file and tensor`, () => {
      assert.throws(() => readSafetensors(make()), message);
    });
  }

  it('refuses to load integer tensors as weights', () => {
    const file = rawFile('int.safetensors', { ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, Buffer.alloc(16));
    assert.throws(() => tensorToFloat32(readSafetensors(file), 'ids'), /int\.safetensors: tensor 'ids' has dtype I64; only F32, F16 and BF16/);
  });
});
