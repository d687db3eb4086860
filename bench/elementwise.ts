// Our element-wise kernel (src/engine/kernels/elementwise.ts: GELU, LayerNorm, RMSNorm) against the
// tfjs ops it replaces (ops.ts with DPO_FUSED_ELEMENTWISE off), forward+backward through tf.grads
// on `small`'s shapes: GELU on the MLP's [1024, 1024] (4 pairs × 2 × 128 tokens, d_ff 1024), the
// norms on [1024, 256]. Also what the kernel's copies cost alone: the same floats moved (three in,
// two out as new tensors) with no kernel. Wasm backend, 1 thread, one process, variants interleaved
// each round; CPU seconds (process.cpuUsage), median and range over the rounds.
// The DPO step with the kernel on and off: node out/bench/gemm.js --no-products --step --sides ours,noelem.
// Usage: node out/bench/elementwise.js [--rounds 7] [--reps 5] [--rows 1024]
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/engine/backend';
import { elementwiseBuild, setFusedElementwise } from '../src/engine/kernels/elementwise';
import { tensorFloats } from '../src/engine/kernels/wasm-kernel';
import { geluNew, layerNorm, rmsNorm } from '../src/engine/model/ops';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds per call of fn over `reps` calls, everything it makes disposed. */
function cpuPerCall(fn: () => tf.Tensor[], reps: number): number {
  tf.dispose(fn()); // warm: first-call compilation and memory growth
  const u = process.cpuUsage();
  for (let i = 0; i < reps; i++) tf.dispose(fn());
  const d = process.cpuUsage(u);
  return (d.user + d.system) / 1e6 / reps;
}

/** The floats one forward+backward of ours moves for an input of x's size: three copies in, two new tensors out. */
function copiesOnly(x: tf.Tensor, scratch: Float32Array): tf.Tensor[] {
  for (let i = 0; i < 3; i++) scratch.set(tensorFloats(x));
  return [tf.tensor(scratch, x.shape), tf.tensor(scratch, x.shape)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '7' }, reps: { type: 'string', default: '5' }, rows: { type: 'string', default: '1024' } },
  });
  await selectBackend('wasm', 1);
  const rows = Number(values.rows);
  const [rounds, reps] = [Number(values.rounds), Number(values.reps)];
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`kernel build ${elementwiseBuild()}; node ${process.version}; ${os.cpus()[0].model}; load ${load()}; ${new Date().toISOString()}`);
  // `inputs`: how many of x, w, b the layer takes (and so has gradients for).
  const cases: { name: string; shape: [number, number]; inputs: number; layer: (x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor }[] = [
    { name: 'GELU', shape: [rows, 1024], inputs: 1, layer: (x) => geluNew(x) },
    { name: 'LayerNorm', shape: [rows, 256], inputs: 3, layer: (x, w, b) => layerNorm(x, w, b, 1e-5) },
    { name: 'RMSNorm (1+w)', shape: [rows, 256], inputs: 2, layer: (x, w) => rmsNorm(x, w, 1e-6, true) },
  ];
  for (const c of cases) {
    const x = tf.randomNormal(c.shape);
    const r = tf.randomNormal(c.shape);
    const w = tf.randomNormal([c.shape[1]], 1, 0.1) as tf.Tensor1D;
    const b = tf.randomNormal([c.shape[1]], 0, 0.1) as tf.Tensor1D;
    const scratch = new Float32Array(x.size);
    const fwdBwd = (): tf.Tensor[] => {
      const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(c.layer(xs[0], (xs[1] ?? w) as tf.Tensor1D, (xs[2] ?? b) as tf.Tensor1D), r)));
      return g([x, w, b].slice(0, c.inputs));
    };
    const fwd = (): tf.Tensor[] => [tf.tidy(() => c.layer(x, w, b))]; // the tfjs ops' intermediates disposed
    const t = { oursFb: [] as number[], tfjsFb: [] as number[], oursF: [] as number[], tfjsF: [] as number[], copies: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const fused of [true, false]) {
        setFusedElementwise(fused);
        t[fused ? 'oursFb' : 'tfjsFb'].push(cpuPerCall(fwdBwd, reps));
        t[fused ? 'oursF' : 'tfjsF'].push(cpuPerCall(fwd, reps));
      }
      setFusedElementwise(undefined);
      t.copies.push(cpuPerCall(() => copiesOnly(x, scratch), reps));
    }
    const ms = (xs: number[]) => `${(median(xs) * 1e3).toFixed(2)} ms (${(Math.min(...xs) * 1e3).toFixed(2)}–${(Math.max(...xs) * 1e3).toFixed(2)})`;
    console.log(
      `${c.name.padEnd(14)} [${c.shape}]  fwd+bwd: ours ${ms(t.oursFb)}, tfjs ${ms(t.tfjsFb)}, ${(median(t.tfjsFb) / median(t.oursFb)).toFixed(1)}×;` +
        `  fwd: ours ${ms(t.oursF)}, tfjs ${ms(t.tfjsF)}, ${(median(t.tfjsF) / median(t.oursF)).toFixed(1)}×;  ours' copies alone ${ms(t.copies)}`,
    );
    tf.dispose([x, r, w, b]);
  }
  console.log(`load ${load()}`);
}

void main();
