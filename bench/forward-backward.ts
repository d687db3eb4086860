// Forward+backward throughput of the policy log-prob (what every DPO step runs) on each backend
// that loads, each in its own process (a tfjs backend is process-wide), same weights and tokens.
// Usage: node out/bench/forward-backward.js [--shape gpt2-small] [--seq N] [--backends wasm,cpu] [--steps 3] [--threads N]
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, BackendName } from '../src/protocol';
import { describeBackend, selectBackend } from '../src/engine/backend';
import { CausalLM } from '../src/engine/model/transformer';
import { initWeights } from '../src/engine/model/tiny';
import { sequenceLogps } from '../src/engine/dpo/logps';
import { Rng } from '../src/engine/rng';
import { BENCH_SHAPES } from './configs';

interface WorkerResult {
  backend: string;
  detail: string;
  shape: string;
  tokensPerStep: number;
  stepSeconds: number[];
  medianSeconds: number;
  tokensPerSecond: number;
  peakRssMiB: number;
  tensorsAfter: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function worker(backend: BackendName, shapeName: string, steps: number, seq?: number, threads?: number): Promise<WorkerResult> {
  const report = await selectBackend(backend, threads);
  const shape = BENCH_SHAPES[shapeName]();
  if (seq) shape.seq = seq;
  const model = new CausalLM(shape.config, initWeights(shape.config, 0).weights);
  const rng = new Rng(1);
  const ids = tf.tensor2d(
    Int32Array.from({ length: shape.batch * shape.seq }, () => rng.nextUint32() % shape.config.vocabSize),
    [shape.batch, shape.seq],
    'int32',
  );
  // Score the second half of each row, as a response after a prompt.
  const mask = tf.tensor2d(
    Float32Array.from({ length: shape.batch * shape.seq }, (_, i) => (i % shape.seq >= shape.seq / 2 ? 1 : 0)),
    [shape.batch, shape.seq],
  );
  const times: number[] = [];
  const tensorsAfter: number[] = [];
  for (let s = 0; s < steps + 1; s++) {
    const t0 = process.hrtime.bigint();
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(sequenceLogps(model, ids, mask))) as tf.Scalar, model.trainableVariables());
    await value.data(); // sync point: the step is done when its loss is readable
    tf.dispose([value, ...Object.values(grads)]);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s > 0) times.push(seconds); // step 0 is warm-up (kernel compilation, allocation)
    tensorsAfter.push(tf.memory().numTensors);
    process.stderr.write(`  ${backend} ${shapeName} step ${s}${s === 0 ? ' (warm-up)' : ''}: ${seconds.toFixed(3)} s\n`);
  }
  const tokensPerStep = shape.batch * shape.seq;
  const med = median(times);
  return {
    backend,
    detail: describeBackend(report),
    shape: shapeName,
    tokensPerStep,
    stepSeconds: times,
    medianSeconds: med,
    tokensPerSecond: tokensPerStep / med,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    tensorsAfter,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string', default: 'gpt2-small' },
      backends: { type: 'string', default: BACKEND_NAMES.join(',') },
      steps: { type: 'string', default: '3' },
      worker: { type: 'string' },
      seq: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  const threads = values.threads ? ['--threads', values.threads] : [];
  const steps = Number(values.steps);
  if (!BENCH_SHAPES[values.shape!]) throw new Error(`unknown --shape ${values.shape}; one of ${Object.keys(BENCH_SHAPES).join(', ')}`);
  if (values.worker) {
    const r = await worker(
      values.worker as BackendName,
      values.shape!,
      steps,
      values.seq ? Number(values.seq) : undefined,
      values.threads ? Number(values.threads) : undefined,
    );
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const results: WorkerResult[] = [];
  for (const backend of values.backends!.split(',') as BackendName[]) {
    const child = spawnSync(
      process.execPath,
      [__filename, '--worker', backend, '--shape', values.shape!, '--steps', String(steps), ...(values.seq ? ['--seq', values.seq] : []), ...threads],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0) {
      console.log(`${backend}: did not run (${child.stdout.trim().split('\n').pop() || `exit ${child.status}`})`);
      continue;
    }
    results.push(JSON.parse(child.stdout.trim().split('\n').pop()!));
  }
  console.log(
    `\nforward+backward of summed response log-probs, shape ${values.shape}${values.seq ? ` (seq ${values.seq})` : ''}, ${os.cpus()[0].model}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log('| backend | tokens/step | median step (s) | spread (s) | tokens/s | peak RSS (MiB) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    const spread = `${Math.min(...r.stepSeconds).toFixed(3)}–${Math.max(...r.stepSeconds).toFixed(3)}`;
    console.log(
      `| ${r.backend} | ${r.tokensPerStep} | ${r.medianSeconds.toFixed(3)} | ${spread} | ${r.tokensPerSecond.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
  for (const r of results) console.log(`${r.backend}: ${r.detail}; tensors after each step ${r.tensorsAfter.join(',')}`);
  if (results.length > 1) {
    const base = results[results.length - 1];
    for (const r of results.slice(0, -1)) console.log(`${r.backend} / ${base.backend} speed: ${(r.tokensPerSecond / base.tokensPerSecond).toFixed(1)}x`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
