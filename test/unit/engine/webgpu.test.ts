// The webgpu backend against wasm: every op the models use (forward and gradient), AdamW, and
// three DPO steps of a tiny GPT-2 and a tiny Llama (GQA, untied head) agree to 1e-4, and the
// tensor count stays flat. On a machine without a GPU this runs on Mesa's llvmpipe through OpenGL
// ES (the Debian packages .ci/run installs). An adapter that cannot be created fails the test with
// Dawn's reason; the work runs in a child process with a timeout, so a hung driver fails, not hangs.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { Diff, ParityReport } from '../helpers/webgpu-parity';

const CHILD_TIMEOUT_MS = 300_000;
const TOLERANCE = 1e-4;

/** |webgpu - wasm| within 1e-4, absolute (summed log-probs of ~-80 included). */
function assertClose(d: Diff, what: string): void {
  assert.ok(d.maxAbsDiff <= TOLERANCE, `${what}: webgpu differs from wasm by ${d.maxAbsDiff} (allowed ${TOLERANCE}; values up to ${d.maxAbs})`);
}

function runChild(root: string, out: string): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'webgpu-parity.js'), root, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}

describe('webgpu backend (software adapter here) matches wasm', () => {
  let report: ParityReport;

  before(async () => {
    const root = tempDir('webgpu');
    const out = path.join(root, 'report.json');
    const r = await runChild(root, out);
    if (r.timedOut) assert.fail(`the webgpu child did not finish within ${CHILD_TIMEOUT_MS / 1000} s (a hung GPU driver?); its stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, `the webgpu child failed; its stderr:\n${r.stderr}`);
    report = JSON.parse(fs.readFileSync(out, 'utf8')) as ParityReport;
  });

  it('creates a WebGPU adapter (not a silent skip: the reason is the failure)', () => {
    assert.equal(report.unavailable, undefined, `webgpu could not be created: ${report.unavailable}`);
    assert.ok(report.adapter, 'the backend report names the adapter');
    assert.ok(report.adapter.limits.maxStorageBufferBindingSize > 0 && report.adapter.limits.maxBufferSize > 0);
  });

  it('every op the models use: forward and gradient within 1e-4 of wasm', () => {
    const names = report.ops.map((o) => o.name);
    for (const op of [
      'gatherRows (embedding)',
      'matmul batched 4-D ᵀa ᵀb',
      'linear (x Wᵀ + b)',
      'conv1d (GPT-2 x W + b)',
      'logSumExpLast',
      'layerNorm',
      'rmsNorm',
      'geluNew',
      'silu',
      'applyRope',
      'masked softmax (attention)',
      'logSigmoid',
      'sigmoid loss (label smoothing 0.1)',
      'ipo loss',
      'hinge loss',
      'AdamW update',
    ]) {
      assert.ok(names.includes(op), `${op} was checked`);
    }
    for (const o of report.ops) {
      assertClose(o.forward, `${o.name} forward`);
      assertClose(o.grads, `${o.name} gradient`);
    }
  });

  for (const family of ['gpt2', 'llama']) {
    it(`${family}: three DPO steps give the same loss, metrics and weight update as wasm; tensor count flat`, () => {
      const s = report.steps.find((x) => x.family === family);
      assert.ok(s, `${family} ran`);
      for (const [key, d] of Object.entries(s.metrics)) assertClose(d, `${family} ${key}`);
      assert.ok(s.update.maxAbs > 1e-4, 'the step moved the weights');
      assertClose(s.update, `${family} weight update`);
      assert.equal(s.numTensors.length, 3);
      assert.ok(
        s.numTensors.every((n) => n === s.numTensors[0]),
        `tensor count per step: ${s.numTensors}`,
      );
    });
  }
});
