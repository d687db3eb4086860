// Which engine a run gets, how it is labelled, and how big a model is (LoRA's default).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { autoEngine, chooseEngine, engineLabel } from '../../../src/node/engine-choice';
import { countParameters, formatParameters } from '../../../src/node/model-size';
import { TORCH_STAMP } from '../../../src/node/torch-env';
import { requirementsHash, summarizeDevices } from '../../../src/node/torch-setup';
import { tempDir, tinyModel } from '../helpers/fixtures';

function fakeEnv(gpus: number): string {
  const env = tempDir('env');
  fs.mkdirSync(path.join(env, 'bin'));
  fs.writeFileSync(path.join(env, 'bin', 'python'), '');
  fs.writeFileSync(path.join(env, TORCH_STAMP), requirementsHash() + '\n');
  const report = { gpus: Array.from({ length: gpus }, (_, i) => ({ index: i, name: 'NVIDIA H100 80GB HBM3', memoryBytes: 8e10 })) };
  fs.writeFileSync(path.join(env, '.dpo-report.json'), JSON.stringify({ hash: requirementsHash(), report }));
  return env;
}

describe('engine choice', () => {
  it('a config naming its engine keeps it; otherwise the setting; auto wants a set-up env that saw a GPU', () => {
    const withGpu = fakeEnv(2);
    const cpuOnly = fakeEnv(0);
    const none = tempDir('no-env');
    assert.equal(chooseEngine({ engine: 'tfjs' }, 'torch', withGpu), 'tfjs');
    assert.equal(chooseEngine({}, 'torch', none), 'torch', 'an explicit torch setting is kept (the run then offers set-up)');
    assert.equal(autoEngine(withGpu), 'torch');
    assert.equal(autoEngine(cpuOnly), 'tfjs');
    assert.equal(autoEngine(none), 'tfjs');
    fs.writeFileSync(path.join(withGpu, TORCH_STAMP), 'stale\n');
    assert.equal(autoEngine(withGpu), 'tfjs', 'an environment from other pins is not "set up"');
  });

  it('summarises the devices of a set-up for the engine picker', () => {
    const base = { python: '3.11', torch: '2.13.0', transformers: '', trl: '', accelerate: '', peft: '', cpuThreads: 2 };
    const h100 = { name: 'NVIDIA H100 80GB HBM3', memoryBytes: 8e10 };
    assert.equal(
      summarizeDevices({
        ...base,
        cuda: '12.8',
        gpus: [
          { index: 0, ...h100 },
          { index: 1, ...h100 },
          { index: 2, name: 'NVIDIA A10', memoryBytes: 2e10 },
        ],
      }),
      '2× NVIDIA H100 80GB HBM3 + 1× NVIDIA A10, CUDA 12.8',
    );
    assert.equal(summarizeDevices({ ...base, cuda: null, gpus: [] }), 'CPU only (2 threads)');
  });

  it('labels the engine and device from the handshake', () => {
    assert.equal(
      engineLabel({
        protocolVersion: 1,
        pid: 1,
        engine: 'torch',
        device: 'cuda:1',
        devices: [
          { index: 0, name: 'A', memoryBytes: 1 },
          { index: 1, name: 'NVIDIA H100 80GB', memoryBytes: 1 },
        ],
      }),
      'torch · cuda:1 NVIDIA H100 80GB',
    );
    assert.equal(engineLabel({ protocolVersion: 1, pid: 1, engine: 'torch', device: 'cpu', devices: [] }), 'torch · cpu');
    assert.equal(engineLabel({ protocolVersion: 1, pid: 1, backend: { name: 'wasm', skipped: [], forced: false } }), 'tfjs · wasm');
  });

  it('counts parameters from the safetensors header, and estimates from config.json without one', () => {
    const dir = tinyModel(tempDir('size'), { layers: 2, dModel: 64, heads: 2, vocab: 300, maxPositions: 32 });
    const n = countParameters(dir)!;
    // GPT-2: wte 300·64 + wpe 32·64 + per layer (ln 2·2·64, attn 64·192+192+64·64+64, mlp 64·256+256+256·64+64) + ln_f 2·64
    const perLayer = 4 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64;
    assert.equal(n, 300 * 64 + 32 * 64 + 2 * perLayer + 2 * 64);
    const cfgOnly = tempDir('size-cfg');
    fs.writeFileSync(
      path.join(cfgOnly, 'config.json'),
      JSON.stringify({ hidden_size: 4096, num_hidden_layers: 32, intermediate_size: 11008, vocab_size: 32000 }),
    );
    const llama7b = countParameters(cfgOnly)!;
    assert.ok(llama7b > 6.4e9 && llama7b < 7e9, formatParameters(llama7b));
    assert.equal(formatParameters(llama7b), '6.6B');
  });
});
