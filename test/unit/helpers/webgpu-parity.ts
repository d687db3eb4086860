// The child process of test/unit/engine/webgpu.test.ts: runs every op the models use, and one DPO
// step of each model family, on wasm and then on webgpu in one process, and writes what it measured
// as JSON. A child, so that a GPU driver that hangs or crashes cannot take the test runner with it.
// Run by node --test as a file too (it lives under test/): without arguments it does nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/engine/backend';
import { releaseWebGpu } from '../../../src/engine/webgpu';
import { applyRope, conv1d, gatherRows, geluNew, layerNorm, linear, logSumExpLast, matmul, rmsNorm, silu } from '../../../src/engine/model/ops';
import { LOSSES, logSigmoid } from '../../../src/engine/dpo/losses';
import { AdamW } from '../../../src/engine/train/optimizer';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { Trainer } from '../../../src/engine/train/trainer';
import { BackendReport, resolveConfig } from '../../../src/protocol';
import { tinyModel } from './fixtures';
import { makePairs } from './runs';

/** What the child writes: per check, the largest |webgpu - wasm| and the largest |wasm| it saw. */
export interface ParityReport {
  adapter?: BackendReport['adapter'];
  /** Set when the webgpu backend could not be created: the reason. */
  unavailable?: string;
  ops: { name: string; forward: Diff; grads: Diff }[];
  steps: { family: string; metrics: Record<string, Diff>; weights: Diff; update: Diff; numTensors: number[] }[];
}
export interface Diff {
  maxAbsDiff: number;
  maxAbs: number;
}

interface OpCase {
  name: string;
  /** Float inputs, differentiated; seeded, so both backends see the same numbers. */
  shapes: number[][];
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
}

const ids = () => tf.tensor1d([2, 0, 2, 5, 1], 'int32'); // repeated ids: the gradient must add them

const OPS: OpCase[] = [
  { name: 'gatherRows (embedding)', shapes: [[6, 4]], fn: (t) => gatherRows(t as tf.Tensor2D, ids()) },
  ...[
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ].map(([ta, tb]) => ({
    name: `matmul batched 4-D${ta ? ' ᵀa' : ''}${tb ? ' ᵀb' : ''}`,
    shapes: [ta ? [2, 3, 5, 6] : [2, 3, 6, 5], tb ? [2, 3, 4, 5] : [2, 3, 5, 4]],
    fn: (a: tf.Tensor, b: tf.Tensor) => matmul(a, b, ta, tb),
  })),
  { name: 'linear (x Wᵀ + b)', shapes: [[2, 3, 8], [5, 8], [5]], fn: (x, w, b) => linear(x, w as tf.Tensor2D, b as tf.Tensor1D) },
  { name: 'conv1d (GPT-2 x W + b)', shapes: [[2, 3, 8], [8, 5], [5]], fn: (x, w, b) => conv1d(x, w as tf.Tensor2D, b as tf.Tensor1D) },
  { name: 'logSumExpLast', shapes: [[6, 11]], fn: (x) => logSumExpLast(tf.mul(x, 3) as tf.Tensor2D) },
  { name: 'layerNorm', shapes: [[2, 3, 8], [8], [8]], fn: (x, w, b) => layerNorm(x, w as tf.Tensor1D, b as tf.Tensor1D, 1e-5) },
  { name: 'rmsNorm', shapes: [[2, 3, 8], [8]], fn: (x, w) => rmsNorm(x, w as tf.Tensor1D, 1e-6) },
  { name: 'geluNew', shapes: [[4, 9]], fn: (x) => geluNew(tf.mul(x, 2)) },
  { name: 'silu', shapes: [[4, 9]], fn: (x) => silu(tf.mul(x, 2)) },
  {
    name: 'applyRope',
    shapes: [
      [2, 2, 3, 8],
      [3, 8],
      [3, 8],
    ],
    fn: (x, c, s) => applyRope(x as tf.Tensor4D, c as tf.Tensor2D, s as tf.Tensor2D),
  },
  {
    name: 'masked softmax (attention)',
    shapes: [[2, 3, 4, 4]],
    fn: (x) => tf.softmax(tf.add(x, tf.tensor2d([0, -1e9, -1e9, -1e9, 0, 0, -1e9, -1e9, 0, 0, 0, -1e9, 0, 0, 0, 0], [4, 4])), -1),
  },
  { name: 'split + concat + transpose', shapes: [[2, 4, 3, 6]], fn: (x) => tf.transpose(tf.concat(tf.split(x, [3, 3], 3).reverse(), 3), [0, 2, 1, 3]) },
  { name: 'logSigmoid', shapes: [[12]], fn: (x) => logSigmoid(tf.mul(x, 10)) },
  ...(['sigmoid', 'ipo', 'hinge'] as const).map((lossType) => ({
    name: `${lossType} loss${lossType === 'sigmoid' ? ' (label smoothing 0.1)' : ''}`,
    shapes: [[5], [5], [5], [5]],
    fn: (pc: tf.Tensor, pr: tf.Tensor, rc: tf.Tensor, rr: tf.Tensor) =>
      LOSSES[lossType](
        {
          policyChosenLogps: tf.mul(pc, 5) as tf.Tensor1D,
          policyRejectedLogps: tf.mul(pr, 5) as tf.Tensor1D,
          referenceChosenLogps: rc as tf.Tensor1D,
          referenceRejectedLogps: rr as tf.Tensor1D,
        },
        { beta: 0.5, labelSmoothing: lossType === 'sigmoid' ? 0.1 : 0 },
      ),
  })),
];

function diff(a: ArrayLike<number>, b: ArrayLike<number>): Diff {
  if (a.length !== b.length) return { maxAbsDiff: Infinity, maxAbs: 0 };
  let maxAbsDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(a[i]) || Number.isNaN(b[i]) ? Infinity : Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]));
  }
  return { maxAbsDiff, maxAbs };
}

/** Forward values, and the gradients of Σ y·w (w seeded) with respect to every input. */
async function runOp(c: OpCase): Promise<{ forward: Float32Array; grads: Float32Array }> {
  const xs = c.shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 + i));
  const y = c.fn(...xs);
  const w = tf.randomNormal(y.shape, 0, 1, 'float32', 99);
  const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(c.fn(...a), w)))(xs);
  const flat = tf.concat(grads.map((g) => tf.reshape(g, [-1])));
  const out = { forward: (await y.data()) as Float32Array, grads: (await flat.data()) as Float32Array };
  tf.dispose([...xs, y, w, ...grads, flat]);
  return out;
}

/** AdamW on two weights, one with weight decay: the update of one optimizer step. */
async function runAdamW(): Promise<{ forward: Float32Array; grads: Float32Array }> {
  const weights = new Map([
    ['h.0.mlp.weight', tf.variable(tf.randomNormal([4, 5], 0, 1, 'float32', 1))],
    ['h.0.ln.bias', tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2))],
  ]);
  const adam = new AdamW(weights, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 });
  for (let step = 0; step < 2; step++) {
    const grads = new Map([...weights].map(([n, w], i) => [n, tf.randomNormal(w.shape, 0, 1, 'float32', 20 + step * 2 + i)] as const));
    adam.apply(grads, 1e-2);
    tf.dispose([...grads.values()]);
  }
  const after = tf.concat([...weights.values()].map((w) => tf.reshape(w, [-1])));
  const forward = (await after.data()) as Float32Array;
  tf.dispose([after, ...weights.values()]);
  adam.dispose();
  return { forward, grads: new Float32Array(0) };
}

interface StepRun {
  metrics: Record<string, number>[];
  weights: Float32Array;
}

/** One DPO run of 3 steps on `backend`: metrics per step and the final weights, flattened by name. */
async function runSteps(root: string, family: 'gpt2' | 'llama', backend: BackendReport): Promise<StepRun> {
  const model = path.join(root, `${family}-model`);
  if (!fs.existsSync(model)) {
    tinyModel(
      model,
      family === 'gpt2'
        ? { family, layers: 1, dModel: 32, heads: 4, maxPositions: 64, seed: 5 }
        : { family, layers: 1, dModel: 32, heads: 4, kvHeads: 2, untiedHead: true, maxPositions: 64, seed: 5 },
    );
  }
  const data = path.join(root, 'pairs.jsonl');
  if (!fs.existsSync(data)) makePairs(data, 6);
  const output_dir = path.join(root, `${family}-${backend.name}`);
  const config = resolveConfig({
    model,
    data,
    output_dir,
    batch_size: 2,
    max_steps: 3,
    logging_steps: 1,
    eval_fraction: 0,
    learning_rate: 1e-3,
    warmup_ratio: 0,
    save_steps: 100,
    seed: 3,
    max_length: 32,
  });
  const metrics: Record<string, number>[] = [];
  const result = await Trainer.create(config, { backend, events: { onMetrics: (m) => metrics.push(m.values) } }).run();
  const { weights } = readModelWeights(result.finalDir!);
  const names = [...weights.keys()].sort();
  const flat = new Float32Array(names.reduce((n, k) => n + weights.get(k)!.data.length, 0));
  let at = 0;
  for (const k of names) {
    flat.set(weights.get(k)!.data, at);
    at += weights.get(k)!.data.length;
  }
  return { metrics, weights: flat };
}

function initialWeights(root: string, family: string): Float32Array {
  const { weights } = readModelWeights(path.join(root, `${family}-model`));
  return Float32Array.from([...weights.keys()].sort().flatMap((k) => Array.from(weights.get(k)!.data)));
}

async function main(root: string, outFile: string): Promise<void> {
  const report: ParityReport = { ops: [], steps: [] };
  const wasm = await selectBackend('wasm');
  const wasmOps = [];
  for (const c of OPS) wasmOps.push(await runOp(c));
  const wasmAdam = await runAdamW();
  const wasmSteps = { gpt2: await runSteps(root, 'gpt2', wasm), llama: await runSteps(root, 'llama', wasm) };

  let gpu: BackendReport;
  try {
    gpu = await selectBackend('webgpu');
  } catch (err) {
    report.unavailable = (err as Error).message;
    fs.writeFileSync(outFile, JSON.stringify(report));
    return;
  }
  report.adapter = gpu.adapter;
  for (const [i, c] of OPS.entries()) {
    const r = await runOp(c);
    report.ops.push({ name: c.name, forward: diff(r.forward, wasmOps[i].forward), grads: diff(r.grads, wasmOps[i].grads) });
  }
  const adam = await runAdamW();
  report.ops.push({ name: 'AdamW update', forward: diff(adam.forward, wasmAdam.forward), grads: diff([], []) });
  for (const family of ['gpt2', 'llama'] as const) {
    const mine = await runSteps(root, family, gpu);
    const ref = wasmSteps[family];
    const metrics: Record<string, Diff> = {};
    for (const key of ['loss', 'grad_norm', 'logps/chosen', 'logps/rejected', 'rewards/chosen', 'rewards/rejected', 'rewards/margins']) {
      metrics[key] = diff(
        mine.metrics.map((m) => m[key]),
        ref.metrics.map((m) => m[key]),
      );
    }
    const initial = initialWeights(root, family);
    const update = (w: Float32Array) => w.map((v, i) => v - initial[i]);
    report.steps.push({
      family,
      metrics,
      weights: diff(mine.weights, ref.weights),
      update: diff(update(mine.weights), update(ref.weights)),
      numTensors: mine.metrics.map((m) => m['memory/num_tensors']),
    });
  }
  releaseWebGpu();
  fs.writeFileSync(outFile, JSON.stringify(report));
}

if (require.main === module && process.argv.length >= 4) {
  main(process.argv[2], process.argv[3]).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`webgpu-parity: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
