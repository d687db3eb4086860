// The webgpu pre-flight check: a run whose largest tensor exceeds the adapter's buffer limits is
// refused before it starts, with the tensor, the sizes and what to change; others pass.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DeviceLimitError, checkDeviceLimits, largestTensors, longestSequence } from '../../../src/engine/device-limits';
import { BackendReport, backendLabel } from '../../../src/protocol';
import { setFusedAttention } from '../../../src/engine/kernels/attention';
import { GPT2_SMALL, tempDir } from '../helpers/fixtures';
import { readJsonl, testRun } from '../helpers/runs';

const gpt2Small = GPT2_SMALL;

const MiB = 2 ** 20;
const adapter = (bindingMiB: number): BackendReport => ({
  name: 'webgpu',
  skipped: [],
  forced: true,
  adapter: {
    vendor: '',
    architecture: '',
    device: 'llvmpipe',
    description: 'OpenGL ES 3.2 Mesa',
    software: true,
    featureLevel: 'compatibility',
    limits: {
      maxBufferSize: 2048 * MiB,
      maxStorageBufferBindingSize: bindingMiB * MiB,
      maxComputeWorkgroupStorageSize: 32768,
      maxComputeInvocationsPerWorkgroup: 1024,
    },
  },
});

describe('webgpu buffer limits', () => {
  it('sizes the largest tensors from the shapes: logits are 2·B·(T-1)·V floats for DPO', () => {
    const [largest] = largestTensors(gpt2Small, { mode: 'dpo', batch_size: 4, max_length: 512 });
    assert.match(largest.what, /^the logits \[4088, 50257\]/);
    assert.equal(largest.bytes, 8 * 511 * 50257 * 4);
    // SFT runs one sequence per pair; a short run's largest tensor is the embedding matrix [V, D].
    assert.equal(largestTensors(gpt2Small, { mode: 'sft', batch_size: 4, max_length: 512 })[0].bytes, 4 * 511 * 50257 * 4);
    assert.match(largestTensors(gpt2Small, { mode: 'dpo', batch_size: 1, max_length: 64 })[0].what, /^the embedding matrix \[50257, 768\]/);
  });

  it('refuses a run that cannot fit, naming the tensor, the limit and what to do', () => {
    assert.throws(
      () => checkDeviceLimits(adapter(128), gpt2Small, { mode: 'dpo', batch_size: 4, max_length: 512 }),
      (err: Error) =>
        err instanceof DeviceLimitError &&
        /the logits \[4088, 50257\] .* need 784 MiB in one GPU buffer, but the webgpu \(OpenGL ES 3\.2 Mesa, software\) adapter allows at most 128 MiB \(maxStorageBufferBindingSize\)\. Lower batch_size or max_length/.test(
          err.message,
        ),
    );
    checkDeviceLimits(adapter(1024), gpt2Small, { mode: 'dpo', batch_size: 4, max_length: 512 }); // fits in 1 GiB
    // GPT-2 small's embedding alone (147 MiB) is over llvmpipe's 128 MiB binding limit.
    assert.throws(
      () => checkDeviceLimits(adapter(128), gpt2Small, { mode: 'dpo', batch_size: 1, max_length: 64 }),
      /need 147 MiB .* This model is too large for this adapter, or run on another backend/,
    );
    checkDeviceLimits(adapter(256), gpt2Small, { mode: 'dpo', batch_size: 1, max_length: 64 });
  });

  it('sizes by the longest tokenized pair (batches pad to their longest row), not by max_length', () => {
    assert.equal(
      longestSequence([
        { promptIds: [1, 2, 3], chosenIds: [4], rejectedIds: [5, 6] },
        { promptIds: [1], chosenIds: [2, 3, 4], rejectedIds: [] },
      ]),
      5,
    );
  });

  it('the trainer refuses such a run before its first step, and records why', async () => {
    // The tensors run on wasm; only the report says webgpu, with a 50 KiB binding limit.
    const root = tempDir('device-limits');
    await assert.rejects(
      testRun(root, 'too-big', { batch_size: 8 }, { backend: adapter(0.05) }),
      /the logits \[\d+, 259\] \(8 pair\(s\) x 2 sequence\(s\) x \d+ tokens x vocab 259\) need 0\.\d+ MiB .* allows at most 0\.05 MiB/,
    );
    const status = readJsonl<{ kind: string; status?: string; step?: number; device?: string }>(`${root}/too-big/metrics.jsonl`).filter(
      (r) => r.kind === 'status',
    );
    assert.deepEqual(
      status.map((s) => [s.status, s.step, s.device]),
      [['failed', 0, 'webgpu (OpenGL ES 3.2 Mesa, software)']],
    );
  });

  it('does not count attention scores where the WGSL attention kernels take the shape (they never make them)', () => {
    // A small-vocabulary model at 1024 tokens: its largest tensor is the scores [8, 4, 1024, 1024] (128 MiB).
    const long = { ...gpt2Small, vocabSize: 259, hiddenSize: 64, numHeads: 4, numKvHeads: 4, headDim: 16, intermediateSize: 256, maxPositions: 1024 };
    const run = { mode: 'dpo', batch_size: 4, max_length: 1024 } as const;
    const hardware = (mib: number): BackendReport => ({ ...adapter(mib), adapter: { ...adapter(mib).adapter!, software: false, device: 'gpu' } });
    assert.match(largestTensors(long, run)[0].what, /^the attention scores \[8, 4, 1024, 1024\]/);
    checkDeviceLimits(hardware(64), long, run);
    try {
      setFusedAttention(false); // DPO_FUSED_ATTENTION=0: tfjs's ops make the scores
      assert.throws(() => checkDeviceLimits(hardware(64), long, run), /the attention scores \[8, 4, 1024, 1024\] .* need 128 MiB/);
    } finally {
      setFusedAttention(undefined);
    }
    // A software adapter hands long sequences back to tfjs's ops (its loop bound): head dim 64 at 2048 tokens.
    const wide = { ...long, hiddenSize: 256, headDim: 64, intermediateSize: 1024, maxPositions: 2048 };
    const run2k = { mode: 'dpo', batch_size: 1, max_length: 2048 } as const;
    checkDeviceLimits(hardware(64), wide, run2k);
    assert.throws(() => checkDeviceLimits(adapter(64), wide, run2k), /the attention scores \[2, 4, 2048, 2048\] .* need 128 MiB/);
    // Gemma 2's soft-capping is never fused.
    assert.throws(() => checkDeviceLimits(hardware(64), { ...long, attnSoftcap: 50 }, run), /the attention scores/);
  });

  it('checks nothing on backends without an adapter', () => {
    checkDeviceLimits({ name: 'wasm', skipped: [], forced: false }, gpt2Small, { mode: 'dpo', batch_size: 64, max_length: 1024 });
  });

  it('labels the backend with its adapter for the status bar and run records', () => {
    // wasm says how many threads its pool runs; a report without a count ran one.
    assert.equal(backendLabel({ name: 'wasm', skipped: [], forced: false }), 'wasm (1 thread)');
    assert.equal(backendLabel({ name: 'wasm', skipped: [], forced: false, threads: 2 }), 'wasm (2 threads)');
    assert.equal(backendLabel(adapter(128)), 'webgpu (OpenGL ES 3.2 Mesa, software)');
  });
});
