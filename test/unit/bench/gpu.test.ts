// npm run bench:gpu's tiny CPU mode, so the GPU check cannot rot: the torch engine and bare TRL rows
// (LoRA and full), their tokens/s, peak memory and MFU fields, the skipped WebGPU row with its
// reason, and the markdown table. Slow-ish (four short torch runs); skipped without the torch env.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runGpuBench } from '../../../bench/gpu/main';
import { flopsPerToken } from '../../../bench/gpu/report';
import { torchPython } from '../../../src/node/torch-env';
import { tempDir } from '../helpers/fixtures';

describe('bench:gpu', () => {
  it('states its FLOP formula: 4F per token for full DPO, 3F for LoRA, F = 2N + 4·L·d·T', () => {
    const shape = { hidden_size: 896, num_hidden_layers: 24 };
    const F = 2 * 494_032_768 + 4 * 24 * 896 * 1024;
    assert.equal(flopsPerToken(shape, 494_032_768, 1024, false), 4 * F);
    assert.equal(flopsPerToken(shape, 494_032_768, 1024, true), 3 * F);
  });

  it(
    'runs on CPU with tiny shapes and reports every row',
    { skip: !fs.existsSync(torchPython()) && 'no torch env (dpo setup-torch)', timeout: 900_000 },
    async () => {
      const out = tempDir('bench-gpu');
      const report = await runGpuBench({ out, tiny: true, log: () => undefined });
      assert.equal(report.mode, 'tiny');
      assert.equal(report.cuda, false);
      assert.deepEqual(report.rows.map((r) => `${r.engine}/${r.method}/${r.processes}`).sort(), [
        'bare TRL DPOTrainer/LoRA r16/1',
        'bare TRL DPOTrainer/full/1',
        'torch engine/LoRA r16/1',
        'torch engine/full/1',
      ]);
      for (const r of report.rows) {
        assert.equal(r.error, undefined, `${r.engine} ${r.method}: ${r.error}`);
        assert.ok(r.step_seconds! > 0 && r.tokens_per_second! > 0, JSON.stringify(r));
        // Every sequence is cut to max_length: tokens per step are 2 x batch x max_length.
        assert.ok(Math.abs(r.tokens_per_second! * r.step_seconds! - 2 * r.batch_per_process * r.max_length) < 1e-6);
        assert.ok(r.peak_memory_bytes! > 50 * 2 ** 20, `peak memory ${r.peak_memory_bytes}`);
        assert.equal(r.peak_memory_kind, 'process max RSS');
        assert.equal(r.flops_per_token, flopsPerToken(report.model.shape, report.model.parameters, r.max_length, r.method !== 'full'));
        assert.equal(r.mfu, null); // no peak figure for a CPU
      }
      assert.match(report.peak_flops_source, /no CUDA device/);
      assert.ok('skipped' in report.webgpu && /no CUDA device/.test(report.webgpu.skipped));
      const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
      assert.match(md, /\| engine \| method \| processes \| batch\/process \| max_length \| dtype \| s\/step \| tokens\/s \| peak memory \| MFU \|/);
      assert.equal(md.split('\n').filter((l) => /^\| (torch engine|bare TRL)/.test(l)).length, 4);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).rows, report.rows);
    },
  );
});
