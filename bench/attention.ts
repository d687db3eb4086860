// The fused attention kernel (src/engine/kernels/attention.ts) against the tfjs ops it replaces,
// on the wasm backend, one thread, in one run: forward+backward GFLOP per CPU-second at 128, 256
// and 512 tokens (the `small` bench shape's attention: 8 sequences × 4 heads × 64), interleaved;
// then the DPO step of `small` (4 pairs × 2 × 128) with the kernel on and off, CPU-s per step.
// With --threads 1,2 the kernel's rows are also timed on those thread counts (wall and CPU seconds).
// Usage: [DPO_KERNEL_BUILD=simd] node out/bench/attention.js [--lengths 128,256,512] [--reps 3] [--steps 3] [--threads 1,2] [--no-step]
// (the FMA build by default, as the engine turns on Node 20's relaxed-SIMD flag; DPO_KERNEL_BUILD=simd for plain SIMD)
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, selectBackend } from '../src/engine/backend';
import { fusedAttention, fusedAttentionBuild, setFusedAttention, setFusedAttentionThreads } from '../src/engine/kernels/attention';
import { matmul } from '../src/engine/model/ops';
import { Rng } from '../src/engine/rng';
import { makeStepDir, runOurs, writeStepPairs } from './step-sides';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CausalLM.attend's tfjs path (src/engine/model/transformer.ts), the ops the kernel replaces. */
function tfjsAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D, scale: number): tf.Tensor3D {
  const [B, H, T, hd] = q.shape;
  const KV = k.shape[1];
  const scores = tf.add(tf.mul(matmul(tf.reshape(q, [B, KV, (H / KV) * T, hd]), k, false, true), scale), mask);
  const out = matmul(tf.softmax(scores, -1), v);
  return tf.reshape(tf.transpose(tf.reshape(out, [B, H, T, hd]), [0, 2, 1, 3]), [B, T, H * hd]);
}

function causalMask(T: number, rep: number): tf.Tensor2D {
  const data = new Float32Array(rep * T * T);
  for (let r = 0; r < rep; r++) for (let i = 0; i < T; i++) data.fill(-1e9, (r * T + i) * T + i + 1, (r * T + i + 1) * T);
  return tf.tensor2d(data, [rep * T, T]);
}

interface KernelRow {
  T: number;
  fused: number;
  tfjs: number;
  /** Per thread count: median CPU seconds and wall seconds of the kernel's forward+backward. */
  threads: { n: number; cpu: number; wall: number }[];
}

let lastWall = 0;

/** CPU seconds of one forward+backward (loss Σ out·w, gradients of q, k and v), median of `reps`; wall seconds in lastWall (median). */
function timeFwdBwd(attend: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor3D, vars: tf.Variable[], w: tf.Tensor, reps: number): number[] {
  const walls: number[] = [];
  const once = () => {
    const w0 = performance.now();
    const t0 = cpuSeconds();
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(attend(vars[0] as unknown as tf.Tensor4D, vars[1] as unknown as tf.Tensor4D, vars[2] as unknown as tf.Tensor4D), w)) as tf.Scalar,
    );
    Object.values(grads).forEach((g) => g.dataSync());
    tf.dispose([value, grads]);
    walls.push((performance.now() - w0) / 1000);
    return cpuSeconds() - t0;
  };
  once(); // warm-up
  walls.length = 0;
  const cpu = Array.from({ length: reps }, once);
  lastWall = median(walls);
  return cpu;
}

async function kernels(lengths: number[], reps: number, threadCounts: number[]): Promise<KernelRow[]> {
  const [B, H, hd] = [8, 4, 64];
  const rows: KernelRow[] = [];
  const rng = new Rng(1);
  for (const T of lengths) {
    const rand = (shape: number[]) =>
      tf.variable(
        tf.tensor(
          Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
          shape,
        ),
      );
    const vars = [rand([B, H, T, hd]), rand([B, H, T, hd]), rand([B, H, T, hd])];
    const w = tf.randomNormal([B, T, H * hd]);
    const mask = causalMask(T, 1);
    const scale = 1 / Math.sqrt(hd);
    const fused: number[] = [];
    const plain: number[] = [];
    // Interleaved, so a change in the machine's load hits both sides alike.
    for (let round = 0; round < 2; round++) {
      fused.push(...timeFwdBwd((q, k, v) => fusedAttention(q, k, v, { scale })!, vars, w, reps));
      plain.push(...timeFwdBwd((q, k, v) => tfjsAttention(q, k, v, mask, scale), vars, w, reps));
    }
    const threads: KernelRow['threads'] = [];
    for (const n of threadCounts) {
      // Each count twice, interleaved with the others, CPU and wall medians over both.
      const cpu: number[] = [];
      const wall: number[] = [];
      for (let round = 0; round < 2; round++) {
        setFusedAttentionThreads(n);
        cpu.push(...timeFwdBwd((q, k, v) => fusedAttention(q, k, v, { scale })!, vars, w, reps));
        wall.push(lastWall);
      }
      threads.push({ n, cpu: median(cpu), wall: median(wall) });
    }
    setFusedAttentionThreads(1);
    rows.push({ T, fused: median(fused), tfjs: median(plain), threads });
    tf.dispose([...vars, w, mask]);
  }
  return rows;
}

/** The DPO step of `small` at 128 tokens, fused attention on and off, two processes each, interleaved (CPU-s per step). */
function stepRuns(steps: number): { on: number[]; off: number[] } {
  const dir = makeStepDir('small', 128);
  writeStepPairs(dir, 4 * (steps + 1), 128);
  const out = { on: [] as number[], off: [] as number[] };
  try {
    for (const variant of ['on', 'off', 'on', 'off'] as const)
      out[variant].push(
        ...runOurs({ dir, pairs: 4, steps, seq: 128, lora: 0, checkpointing: false }, { DPO_FUSED_ATTENTION: variant === 'on' ? '1' : '0' }).cpu,
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function main() {
  const { values } = parseArgs({
    options: {
      lengths: { type: 'string', default: '128,256,512' },
      reps: { type: 'string', default: '3' },
      steps: { type: 'string', default: '3' },
      threads: { type: 'string', default: '' },
      'no-step': { type: 'boolean', default: false },
    },
  });
  const backend = await selectBackend('wasm', 1);
  setFusedAttention(true);
  const [B, H, hd] = [8, 4, 64];
  console.log(
    `${describeBackend(backend)}; kernel build ${fusedAttentionBuild()}; node ${process.version}; ${os.cpus()[0].model}; load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${new Date().toISOString()}`,
  );
  console.log('\nAttention forward+backward, 8 × 4 heads × 64, causal; GFLOP/CPU-s (full = 12·B·H·T²·hd, the products the tfjs path runs; causal = half)');
  console.log('| tokens | ours CPU-s | tfjs CPU-s | ours GFLOP/CPU-s full (causal) | tfjs GFLOP/CPU-s full | ours / tfjs |');
  console.log('|---|---|---|---|---|---|');
  const threadCounts = values.threads ? values.threads.split(',').map(Number) : [];
  // The kernel's own thread count for the first table: one, as the backend here.
  setFusedAttentionThreads(1);
  const rows = await kernels(values.lengths!.split(',').map(Number), Number(values.reps), threadCounts);
  for (const r of rows) {
    const gflop = (12 * B * H * r.T * r.T * hd) / 1e9;
    console.log(
      `| ${r.T} | ${r.fused.toFixed(3)} | ${r.tfjs.toFixed(3)} | ${(gflop / r.fused).toFixed(1)} (${(gflop / 2 / r.fused).toFixed(1)}) | ${(gflop / r.tfjs).toFixed(1)} | ${(r.tfjs / r.fused).toFixed(1)}× faster |`,
    );
  }
  if (threadCounts.length) {
    console.log('\nThe kernel on several threads (worker threads over one shared memory): median wall and CPU seconds of forward+backward');
    console.log(
      `| tokens | ${threadCounts.map((n) => `${n} thr wall s | ${n} thr CPU-s`).join(' | ')} | wall speed-up ${threadCounts.at(-1)} vs ${threadCounts[0]} |`,
    );
    console.log(`|---|${threadCounts.map(() => '---|---|').join('')}---|`);
    for (const r of rows) {
      const cells = r.threads.map((t) => `${t.wall.toFixed(3)} | ${t.cpu.toFixed(3)}`).join(' | ');
      console.log(`| ${r.T} | ${cells} | ${(r.threads[0].wall / r.threads.at(-1)!.wall).toFixed(2)}× |`);
    }
  }
  if (values['no-step']) return;
  const { on, off } = stepRuns(Number(values.steps));
  console.log('\nDPO step, `small` (GPT-2 4 layers d 256, 4 pairs × 2 × 128 tokens), wasm one thread, CPU-s per step (two processes each, interleaved)');
  console.log('| attention | median CPU-s | range |');
  console.log('|---|---|---|');
  for (const [name, xs] of [
    ['fused kernel', on],
    ['tfjs ops', off],
  ] as const)
    console.log(`| ${name} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} |`);
  console.log(`step CPU time, on / off: ${(median(on) / median(off)).toFixed(2)}`);
  console.log(
    `load after: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
