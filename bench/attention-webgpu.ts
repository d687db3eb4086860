// The WGSL fused attention (src/engine/kernels/attention-webgpu.ts) against tfjs-webgpu's ops (the
// engine's path with DPO_FUSED_ATTENTION=0: batched products, mask, softmax, which hold the L×L
// scores), forward+backward, on the WebGPU adapter Dawn finds, interleaved in one process: wall
// seconds (each pass ends by reading the gradients back), GFLOP/s and the largest difference.
// Usage: node out/bench/attention-webgpu.js [--lengths 128,256,512] [--reps 3] [--batch 8] [--heads 4] [--kv-heads 4] [--hd 64]
// On a software adapter (llvmpipe, SwiftShader, ...) it prints the times but no speed ratio: the
// CPU emulating a GPU says nothing about a GPU.
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/engine/backend';
import { releaseWebGpu } from '../src/engine/webgpu';
import { fusedAttention, fusedAttentionApplies, setFusedAttention } from '../src/engine/kernels/attention';
import { matmul } from '../src/engine/model/ops';
import { Rng } from '../src/engine/rng';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CausalLM.attend's tfjs path (src/engine/model/transformer.ts): what runs on webgpu without our kernel. */
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

type Attend = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor3D;

/** One forward+backward of Σ out·w; returns the wall seconds and the output and gradients (caller disposes). */
async function fwdBwd(attend: Attend, vars: tf.Variable[], w: tf.Tensor): Promise<{ seconds: number; tensors: tf.Tensor[] }> {
  const t0 = performance.now();
  const [q, k, v] = vars as unknown as tf.Tensor4D[];
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(attend(q, k, v), w)) as tf.Scalar);
  const tensors = [value, ...vars.map((x) => grads[x.name])];
  // webgpu runs asynchronously: the pass is done when its results are read back.
  await Promise.all(tensors.map((t) => t.data()));
  return { seconds: (performance.now() - t0) / 1000, tensors };
}

/** The largest |a − b| over the output and the gradients, relative to the largest |b| among them. */
async function relativeDiff(a: tf.Tensor[], b: tf.Tensor[]): Promise<number> {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const [d, m] = tf.tidy(() => [tf.max(tf.abs(tf.sub(a[i], b[i]))), tf.max(tf.abs(b[i]))]);
    worst = Math.max(worst, (await d.data())[0]);
    scale = Math.max(scale, (await m.data())[0]);
    tf.dispose([d, m]);
  }
  return worst / scale;
}

interface Row {
  T: number;
  fused: number;
  tfjs: number;
  diff: number;
}

async function measure(T: number, B: number, H: number, KV: number, hd: number, reps: number): Promise<Row> {
  const rng = new Rng(T);
  const rand = (shape: number[]) =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
        shape,
      ),
    );
  const vars = [rand([B, H, T, hd]), rand([B, KV, T, hd]), rand([B, KV, T, hd])];
  const w = tf.randomNormal([B, T, H * hd]);
  const mask = causalMask(T, H / KV);
  const scale = 1 / Math.sqrt(hd);
  if (!fusedAttentionApplies(vars[0] as unknown as tf.Tensor4D, vars[1] as unknown as tf.Tensor4D, { scale })) {
    throw new Error(
      `the WGSL kernel declines ${T} tokens at head dim ${hd} here (a multiple of 4 up to 256; on a software adapter, a bounded loop count), or DPO_FUSED_ATTENTION=0 is set`,
    );
  }
  const fusedFn: Attend = (q, k, v) => fusedAttention(q, k, v, { scale })!;
  const tfjsFn: Attend = (q, k, v) => tfjsAttention(q, k, v, mask, scale);
  // Warm-up (shader compilation), and the check that both compute the same thing on this adapter.
  const a = await fwdBwd(fusedFn, vars, w);
  const b = await fwdBwd(tfjsFn, vars, w);
  const diff = await relativeDiff(a.tensors, b.tensors);
  tf.dispose([...a.tensors, ...b.tensors]);
  const fused: number[] = [];
  const plain: number[] = [];
  // Interleaved, so a change in the machine's load hits both sides alike.
  for (let i = 0; i < reps; i++) {
    for (const [fn, into] of [
      [fusedFn, fused],
      [tfjsFn, plain],
    ] as const) {
      const r = await fwdBwd(fn, vars, w);
      into.push(r.seconds);
      tf.dispose(r.tensors);
    }
  }
  tf.dispose([...vars, w, mask]);
  return { T, fused: median(fused), tfjs: median(plain), diff };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lengths: { type: 'string', default: '128,256,512' },
      reps: { type: 'string', default: '3' },
      batch: { type: 'string', default: '8' },
      heads: { type: 'string', default: '4' },
      'kv-heads': { type: 'string' },
      hd: { type: 'string', default: '64' },
    },
  });
  const [B, H, hd, reps] = [values.batch, values.heads, values.hd, values.reps].map(Number);
  const KV = Number(values['kv-heads'] ?? H);
  const backend = await selectBackend('webgpu'); // forced: a software adapter is accepted, and named
  const adapter = backend.adapter;
  const name = adapter ? adapter.description || adapter.device || adapter.vendor : 'unknown adapter';
  const software = adapter?.software ?? true;
  setFusedAttention(true);
  console.log(
    `WebGPU adapter: ${name} (${[adapter?.vendor, adapter?.architecture, adapter?.featureLevel].filter(Boolean).join(', ')}; ${software ? 'SOFTWARE' : 'hardware'}); node ${process.version}; ${os.cpus()[0].model}; load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${new Date().toISOString()}`,
  );
  console.log(
    `\nAttention forward+backward, ${B} × ${H} heads (${KV} kv) × ${hd}, causal, fp32; wall seconds, median of ${reps}; GFLOP/s on the full count 12·B·H·T²·hd`,
  );
  const rows: Row[] = [];
  for (const T of values.lengths!.split(',').map(Number)) rows.push(await measure(T, B, H, KV, hd, reps));
  const header = software
    ? '| tokens | WGSL s | tfjs-webgpu s | WGSL GFLOP/s | tfjs GFLOP/s | L×L scores tfjs holds | max diff / max value |'
    : '| tokens | WGSL s | tfjs-webgpu s | WGSL GFLOP/s | tfjs GFLOP/s | L×L scores tfjs holds | max diff / max value | tfjs / WGSL |';
  console.log(header);
  console.log(header.replace(/[^|]+/g, '---'));
  for (const r of rows) {
    const gflop = (12 * B * H * r.T * r.T * hd) / 1e9;
    const scoresMiB = (B * H * r.T * r.T * 4) / 2 ** 20;
    const cells = [
      r.T,
      r.fused.toFixed(4),
      r.tfjs.toFixed(4),
      (gflop / r.fused).toFixed(1),
      (gflop / r.tfjs).toFixed(1),
      `${scoresMiB.toFixed(0)} MiB`,
      r.diff.toExponential(1),
    ];
    if (!software) cells.push(`${(r.tfjs / r.fused).toFixed(2)}×`);
    console.log(`| ${cells.join(' | ')} |`);
  }
  if (software) {
    console.log(
      '\nNo speed ratio: this is a software adapter (the CPU emulating a GPU), so these times say nothing about a GPU. Run this on a machine with a GPU (Dawn on Vulkan, Metal or Direct3D 12).',
    );
  }
  releaseWebGpu();
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
