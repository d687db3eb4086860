// Our own GEMM (src/engine/kernels/gemm.ts) against tfjs's products as the engine calls them
// (XNNPACK, with the transpose explicit for the transposed forms), on the bench configs' weights
// (bench/configs.ts, GPT-2 layout) in the three forms of a training step: forward x·W, dx = dy·Wᵀ,
// dW = xᵀ·dy (and the head's x·Wᵀ, dy·W, dyᵀ·x). Wasm backend, 1 thread (--threads N: the threaded
// build, ours and XNNPACK each on N), one process, interleaved; CPU seconds (process.cpuUsage, every
// thread of the process) and wall, median of the repetitions. Fresh operands each repetition, as in
// training (tfjs-wasm caches XNNPACK's packed copy of a reused right operand).
// --step: then the DPO step, one thread each side, CPU-s and wall per step (bench/step-sides.ts),
// per length in --lengths (or --seq), --rounds processes per side, interleaved. Sides (--sides):
// ours (the FMA build, the default: the engine turns on Node 20's relaxed-SIMD flag; our GEMM table),
// simd (DPO_KERNEL_BUILD=simd), xnn (DPO_GEMM=0: XNNPACK products), noelem
// (DPO_FUSED_ELEMENTWISE=0: tfjs's GELU and norms), trl (TRL's DPOTrainer), torch
// (bare PyTorch eager). Default sides: ours,xnn (+trl with --trl). --pairs takes one count or one
// per length; --lora R (and --checkpointing) for LoRA runs (ours and TRL+PEFT, all-linear).
// Usage: node out/bench/gemm.js [--configs tiny,small,gpt2-small] [--rows 1024,4096] [--reps 3] [--threads 1] [--json]
//        [--step [--trl]] [--sides ours,simd,trl,torch] [--step-shape small] [--lengths 128,256,512] [--pairs 4,4,2]
//        [--steps 3] [--rounds 2] [--lora 16 --checkpointing] [--no-products]
// The issue #29 targets: npm run bench:step (--no-products --step --sides ours,simd,trl,torch --lengths 128,256,512).
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/engine/backend';
import { gemmBuild, product, setGemmMode } from '../src/engine/kernels/gemm';
import { BENCH_SHAPES } from './configs';
import { SIDE_NAMES, Side, compareSteps, load, median, printStepReport } from './step-sides';

interface Row {
  config: string;
  product: string;
  form: 'A·B' | 'A·Bᵀ' | 'Aᵀ·B';
  m: number;
  n: number;
  k: number;
  oursS: number;
  xnnS: number;
  oursWall: number;
  xnnWall: number;
}

/** CPU seconds and wall seconds of one product. */
function cpuSeconds(fn: () => tf.Tensor): [number, number] {
  const u = process.cpuUsage();
  const t = process.hrtime.bigint();
  const y = fn();
  y.dataSync();
  const d = process.cpuUsage(u);
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  y.dispose();
  return [(d.user + d.system) / 1e6, wall];
}

/** One product in one form, ours and XNNPACK alternating, `reps` each after a warm-up of each. */
function measure(form: Row['form'], m: number, n: number, k: number, reps: number): Pick<Row, 'oursS' | 'xnnS' | 'oursWall' | 'xnnWall'> {
  const transA = form === 'Aᵀ·B';
  const transB = form === 'A·Bᵀ';
  const a = tf.randomNormal(transA ? [k, m] : [m, k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal(transB ? [n, k] : [k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  const run = (mode: 'on' | 'off') => {
    const fresh = tf.add(b, 0) as tf.Tensor2D;
    setGemmMode(mode);
    try {
      return cpuSeconds(() => product(a, fresh, transA, transB));
    } finally {
      setGemmMode(undefined);
      fresh.dispose();
    }
  };
  run('on');
  run('off');
  const ours: [number, number][] = [];
  const xnn: [number, number][] = [];
  for (let r = 0; r < reps; r++) {
    ours.push(run('on'));
    xnn.push(run('off'));
  }
  tf.dispose([a, b]);
  const cpu = (xs: [number, number][]) => median(xs.map((x) => x[0]));
  const wall = (xs: [number, number][]) => median(xs.map((x) => x[1]));
  return { oursS: cpu(ours), xnnS: cpu(xnn), oursWall: wall(ours), xnnWall: wall(xnn) };
}

/** The GPT-2 layout's weights as [name, in, out], and the head [vocab, d] used as x·Wᵀ. */
function weights(config: string): { name: string; din: number; dout: number; head?: boolean }[] {
  const c = BENCH_SHAPES[config]().config;
  const d = c.hiddenSize;
  const ff = c.intermediateSize;
  return [
    { name: 'qkv', din: d, dout: 3 * d },
    { name: 'attn out', din: d, dout: d },
    { name: 'MLP up', din: d, dout: ff },
    { name: 'MLP down', din: ff, dout: d },
    { name: 'head', din: d, dout: c.vocabSize, head: true },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      configs: { type: 'string', default: 'tiny,small,gpt2-small' },
      rows: { type: 'string', default: '1024,4096' },
      reps: { type: 'string', default: '3' },
      json: { type: 'boolean' },
      step: { type: 'boolean' },
      trl: { type: 'boolean' },
      'step-shape': { type: 'string', default: 'small' },
      seq: { type: 'string', default: '128' },
      lengths: { type: 'string' },
      pairs: { type: 'string', default: '4' },
      sides: { type: 'string' },
      rounds: { type: 'string', default: '2' },
      lora: { type: 'string', default: '0' },
      checkpointing: { type: 'boolean' },
      steps: { type: 'string', default: '3' },
      'no-products': { type: 'boolean' },
      threads: { type: 'string', default: '1' },
    },
  });
  const { threads } = await selectBackend('wasm', Number(values.threads));
  console.log(
    `kernel build ${gemmBuild()}; wasm threads ${threads}; node ${process.version}; ${os.cpus()[0].model}; load ${load()}; ${new Date().toISOString()}`,
  );
  const reps = Number(values.reps);
  const rows: Row[] = [];
  for (const config of values['no-products'] ? [] : values.configs!.split(',')) {
    for (const M of values.rows!.split(',').map(Number)) {
      for (const w of weights(config)) {
        // Forward, dx and dW of y = x·W (W [in, out]); the head is y = x·Wᵀ (W [V, d]).
        const forms: [string, Row['form'], number, number, number][] = w.head
          ? [
              ['fwd x·Wᵀ', 'A·Bᵀ', M, w.dout, w.din],
              ['dx = dy·W', 'A·B', M, w.din, w.dout],
              ['dW = dyᵀ·x', 'Aᵀ·B', w.dout, w.din, M],
            ]
          : [
              ['fwd x·W', 'A·B', M, w.dout, w.din],
              ['dx = dy·Wᵀ', 'A·Bᵀ', M, w.din, w.dout],
              ['dW = xᵀ·dy', 'Aᵀ·B', w.din, w.dout, M],
            ];
        for (const [what, form, m, n, k] of forms) {
          if (m * n + m * k + k * n > 2 ** 26) continue; // past kernels/gemm.ts's MAX_FLOATS: always XNNPACK
          const r = { config, product: `${w.name} ${what}`, form, m, n, k, ...measure(form, m, n, k, reps) };
          rows.push(r);
          const gf = (s: number) => ((2 * m * n * k) / s / 1e9).toFixed(1);
          console.log(
            `${config.padEnd(10)} ${r.product.padEnd(22)} ${form.padEnd(5)} ${`${m}×${n}×${k}`.padEnd(16)} ours ${gf(r.oursS).padStart(5)} xnn ${gf(r.xnnS).padStart(5)} GFLOP/CPU-s  ${(r.xnnS / r.oursS).toFixed(2)}×  wall ${gf(r.oursWall).padStart(5)} vs ${gf(r.xnnWall).padStart(5)} GFLOP/s ${(r.xnnWall / r.oursWall).toFixed(2)}×`,
          );
        }
      }
    }
  }
  if (values.json) console.log(JSON.stringify(rows));
  if (!values.step) return;
  const lengths = (values.lengths ?? values.seq!).split(',').map(Number);
  const pairList = values.pairs!.split(',').map(Number);
  const pairs = lengths.map((_, i) => pairList[Math.min(i, pairList.length - 1)]);
  const sides = (values.sides?.split(',') ?? ['ours', 'xnn', ...(values.trl ? ['trl'] : [])]) as Side[];
  for (const side of sides) if (!(side in SIDE_NAMES)) throw new Error(`unknown side ${side}; one of ${Object.keys(SIDE_NAMES).join(', ')}`);
  const [lora, checkpointing] = [Number(values.lora), values.checkpointing === true];
  const shape = values['step-shape']!;
  const steps = Number(values.steps);
  const results = compareSteps(shape, lengths, pairs, { steps, rounds: Number(values.rounds), sides, lora, checkpointing });
  console.log(
    `\nDPO step, ${shape}, pairs × 2 × tokens, ${lora ? `LoRA r ${lora} α ${2 * lora} all-linear` : 'full fine-tuning'}${checkpointing ? ', recomputed blocks' : ''}, live reference, one thread each side; ${values.rounds} processes per side and length, interleaved, ${steps} timed steps each after a warm-up; CPU-s per step, median (range), and median wall s; load after ${load()}`,
  );
  for (const side of sides) console.log(`- ${side}: ${SIDE_NAMES[side]}`);
  printStepReport(results, sides);
}

void main();
