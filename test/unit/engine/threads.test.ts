// wasm on several threads (the threaded build, loaded in Node by src/engine/wasm-threads.ts) gives
// the same training as on one: the weights after each of three DPO steps agree to 1e-5, and the
// tensor count stays flat. Each thread count runs in its own child process (one pool per process).
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, tensorToFloat32 } from '../../../src/engine/model/safetensors';
import { MAX_WASM_THREADS, resolveThreads } from '../../../src/engine/wasm-threads';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { makePairs } from '../helpers/runs';
import { ThreadStepReport } from '../helpers/thread-step';

const CHILD_TIMEOUT_MS = 240_000;

function runChild(root: string, threads: number): Promise<ThreadStepReport> {
  const out = path.join(root, `report-${threads}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'thread-step.js'), root, String(threads), out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    // A pthread that never returns would hang the child: fail instead.
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(fs.readFileSync(out, 'utf8')));
      else reject(new Error(`${threads}-thread child ended with ${signal ?? `exit ${code}`}: ${stderr}`));
    });
  });
}

/** Every tensor of a checkpoint's model.safetensors, by name. */
function weights(dir: string): Map<string, Float32Array> {
  const file = readSafetensors(path.join(dir, 'model.safetensors'));
  return new Map([...file.tensors.keys()].map((name) => [name, tensorToFloat32(file, name).data]));
}

describe('the threads setting', () => {
  it('0 or absent is every core, capped at the 8 threads tfjs builds its pool for; N is N', () => {
    const cores = os.availableParallelism();
    assert.equal(resolveThreads(0), Math.min(cores, MAX_WASM_THREADS));
    assert.equal(resolveThreads(undefined), Math.min(cores, MAX_WASM_THREADS));
    assert.equal(resolveThreads(1), 1);
    assert.equal(resolveThreads(3), 3);
    assert.equal(resolveThreads(64), MAX_WASM_THREADS);
  });
});

describe('wasm on 2 threads', () => {
  let root: string;
  let one: ThreadStepReport;
  let two: ThreadStepReport;
  before(async () => {
    root = tempDir('threads');
    tinyModel(path.join(root, 'model'), { layers: 2, dModel: 64, heads: 4, maxPositions: 64, seed: 1 });
    makePairs(path.join(root, 'pairs.jsonl'), 24);
    // One after the other: at the same time they would compete for the cores.
    one = await runChild(root, 1);
    two = await runChild(root, 2);
  });

  it('runs on the thread count asked for, and says so', () => {
    assert.equal(one.threads, 1);
    assert.equal(two.threads, resolveThreads(2));
    assert.equal(two.threads, 2);
    assert.equal(one.device, 'wasm (1 thread)');
    assert.equal(two.device, 'wasm (2 threads)');
  });

  it('makes the same update as one thread (weights after each step within 1e-5)', () => {
    // The last step's weights are in final/.
    const at = (run: string, step: number) => path.join(root, run, ...(step < 3 ? ['checkpoints', `step-${step}`] : ['final']));
    for (const step of [1, 2, 3]) {
      const a = weights(at('run-1', step));
      const b = weights(at('run-2', step));
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
      let worst = 0;
      let moved = 0;
      const start = weights(path.join(root, 'model'));
      for (const [name, x] of a) {
        const y = b.get(name)!;
        const s = start.get(name)!;
        for (let i = 0; i < x.length; i++) {
          worst = Math.max(worst, Math.abs(x[i] - y[i]));
          moved = Math.max(moved, Math.abs(x[i] - s[i]));
        }
      }
      assert.ok(moved > 1e-4, `step ${step}: the weights did not move (${moved}), so the comparison would prove nothing`);
      assert.ok(worst <= 1e-5, `step ${step}: 2 threads differ from 1 thread by ${worst}`);
    }
    assert.equal(one.losses.length, 3);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(one.losses[i] - two.losses[i]) <= 1e-5, `loss ${i + 1}: ${one.losses[i]} vs ${two.losses[i]}`);
  });

  it('keeps the tensor count flat across steps', () => {
    assert.equal(two.numTensors.length, 3);
    assert.ok(
      two.numTensors.every((n) => n === two.numTensors[0]),
      `tensor count per step: ${two.numTensors.join(', ')}`,
    );
    assert.deepEqual(two.numTensors, one.numTensors);
  });
});
