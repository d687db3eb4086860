// The optimizer-side config fields checked through the trainer, from the weights it writes: with
// adam_epsilon = 1 (far above |g|) AdamW's first step w1 = w0 − lr·g/(|g| + ε) is invertible, so
// the gradient the trainer applied is read back exactly and compared with max_grad_norm, the logged
// grad_norm, a float64 finite difference of the loss, the accumulation settings and the schedule.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, useTestBackend } from '../helpers/fixtures';
import { StepOptions, byteIds, meanLoss, naiveModel } from '../helpers/dpo-oracle';
import { RunRead, WIRING_PAIRS, close, sharpModel, weightsOf, wiringRun, writePairs } from '../helpers/wiring-runs';
import { readSafetensors, tensorToFloat32 } from '../../../src/engine/model/safetensors';
import { WeightData } from '../../../src/engine/model/transformer';

const root = tempDir('update');
const policyDir = path.join(root, 'policy');
const refDir = path.join(root, 'reference');
const data = path.join(root, 'pairs.jsonl');
const LR = 1e-2;
const EPS = 1;
const oracle: StepOptions = { beta: 0.3, sftWeight: 0.5 };
const base = () => ({ model: policyDir, reference_model: refDir, data, beta: 0.3, sft_weight: 0.5, learning_rate: LR, adam_epsilon: EPS, max_grad_norm: 0 });

type Grad = Map<string, Float64Array>;

/** The gradient of AdamW's first step (no decay): Δ = −lr·g/(|g| + ε)  ⇒  g = ε·u/(1 − |u|), u = −Δ/lr. */
function recoverGrad(w0: Map<string, WeightData>, w1: Map<string, WeightData>, lr: number, eps = EPS): Grad {
  const g: Grad = new Map();
  for (const [name, a] of w0) {
    const b = w1.get(name)!.data;
    g.set(
      name,
      Float64Array.from(a.data, (x, i) => {
        const u = -(b[i] - x) / lr;
        return (eps * u) / (1 - Math.abs(u));
      }),
    );
  }
  return g;
}

const norm = (g: Grad) => Math.sqrt([...g.values()].reduce((s, x) => s + x.reduce((a, v) => a + v * v, 0), 0));

/** max |a − k·b| over every entry, relative to max |a|. */
function relDiff(a: Grad, b: Grad, k = 1): number {
  let diff = 0;
  let scale = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    x.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - k * y[i]));
      scale = Math.max(scale, Math.abs(v));
    });
  }
  return diff / scale;
}

function optimizerState(stepDir: string): Map<string, Float64Array> {
  const st = readSafetensors(path.join(stepDir, 'optimizer.safetensors'));
  return new Map([...st.tensors.keys()].map((k) => [k, Float64Array.from(tensorToFloat32(st, k).data)]));
}

const pick = (state: Map<string, Float64Array>, prefix: string): Grad =>
  new Map([...state].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));

const gradNorm = (run: RunRead, step = 1) => run.train.get(step)!.grad_norm;

describe('trainer wiring: the update (gradient, clipping, accumulation, AdamW, schedule)', () => {
  let plain: RunRead;
  let w0: Map<string, WeightData>;
  let g: Grad;

  before(async () => {
    await useTestBackend();
    sharpModel(policyDir, 1);
    sharpModel(refDir, 2);
    writePairs(data);
    plain = await wiringRun(path.join(root, 'plain'), base());
    w0 = weightsOf(policyDir);
    g = recoverGrad(w0, weightsOf(plain.result!.finalDir!), LR);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('no clipping: the applied gradient has the logged grad_norm and is the float64 gradient of the mean loss', () => {
    close('|g| vs grad_norm', norm(g), gradNorm(plain), 1e-4);
    assert.ok(gradNorm(plain) > 1, `the test needs |g| > max_grad_norm below: ${gradNorm(plain)}`);
    // Directional derivative along g/|g| by central differences in float64: it equals |g|.
    const ids = byteIds(WIRING_PAIRS, { maxLength: 64 });
    const reference = naiveModel(refDir);
    const n = norm(g);
    const at = (t: number) => {
      const w = new Map<string, WeightData>();
      for (const [name, x] of w0) {
        const d = g.get(name)!;
        // Float64 weights (NaiveLM only indexes them), so the step is not rounded to float32.
        w.set(name, { shape: x.shape, data: Float64Array.from(x.data, (v, i) => v + (t * d[i]) / n) as unknown as Float32Array });
      }
      return meanLoss(ids, naiveModel(policyDir, w), reference, oracle);
    };
    const h = 1e-3;
    close('finite-difference slope along g', (at(h) - at(-h)) / (2 * h), n, 1e-4);
  });

  it('max_grad_norm: the applied gradient has exactly that norm, in the unclipped direction', async () => {
    for (const maxNorm of [1, 0.25]) {
      const run = await wiringRun(path.join(root, `clip-${maxNorm}`), { ...base(), max_grad_norm: maxNorm });
      close('grad_norm is logged before clipping', gradNorm(run), gradNorm(plain), 1e-6);
      const clipped = recoverGrad(w0, weightsOf(run.result!.finalDir!), LR);
      close(`|clipped g| vs max_grad_norm ${maxNorm}`, norm(clipped), maxNorm, 1e-4);
      assert.ok(relDiff(clipped, g, maxNorm / norm(g)) < 1e-3, 'clipping scales the gradient, nothing else');
    }
  });

  it('gradient_accumulation_steps: 1×4 and 2×2 apply the gradient of one batch of 4', async () => {
    // Without the "sft" term: TRL's sft is a token mean per micro-batch, so accumulating it is not
    // the same objective as one batch (the per-pair terms are).
    const one = await wiringRun(path.join(root, 'accum-4x1'), { ...base(), sft_weight: 0 });
    const g1 = recoverGrad(w0, weightsOf(one.result!.finalDir!), LR);
    for (const [batch, accum] of [
      [1, 4],
      [2, 2],
    ]) {
      const run = await wiringRun(path.join(root, `accum-${batch}x${accum}`), {
        ...base(),
        sft_weight: 0,
        batch_size: batch,
        gradient_accumulation_steps: accum,
      });
      close(`${batch}×${accum} grad_norm`, gradNorm(run), gradNorm(one), 1e-4);
      close(`${batch}×${accum} loss`, run.train.get(1)!.loss, one.train.get(1)!.loss, 1e-5);
      assert.ok(relDiff(recoverGrad(w0, weightsOf(run.result!.finalDir!), LR), g1) < 1e-3, `${batch}×${accum}: same gradient`);
    }
  });

  it('weight_decay: decoupled, lr·λ·w, on weights but not on biases and LayerNorm gains', async () => {
    const wd = 0.5;
    const run = await wiringRun(path.join(root, 'decay'), { ...base(), weight_decay: wd });
    const w1 = weightsOf(plain.result!.finalDir!);
    const w1d = weightsOf(run.result!.finalDir!);
    let decayed = 0;
    for (const [name, x] of w0) {
      const exempt = name.endsWith('.bias') || /ln_\w*\.weight$/.test(name);
      if (!exempt) decayed++;
      x.data.forEach((v, i) => {
        const want = exempt ? 0 : -LR * wd * v;
        const got = w1d.get(name)!.data[i] - w1.get(name)!.data[i];
        if (Math.abs(got - want) > 1e-6) assert.fail(`${name}[${i}]: decay moved it by ${got}, want ${want}`);
      });
    }
    assert.ok(decayed > 0);
  });

  it('adam_beta1, adam_beta2, adam_epsilon and bias correction over two steps (checkpointed moments)', async () => {
    const [b1, b2] = [0.5, 0.8];
    const run = await wiringRun(path.join(root, 'adam'), { ...base(), adam_beta1: b1, adam_beta2: b2, max_steps: 3, save_steps: 1 });
    const ck = (s: number) => path.join(run.dir, 'checkpoints', `step-${s}`);
    const w1 = weightsOf(ck(1));
    const w2 = weightsOf(ck(2));
    const g1 = recoverGrad(w0, w1, LR);
    close('step 1 |g|', norm(g1), gradNorm(run, 1), 1e-4);
    const [s1, s2] = [optimizerState(ck(1)), optimizerState(ck(2))];
    const [m1, v1, m2, v2] = [pick(s1, 'exp_avg'), pick(s1, 'exp_avg_sq'), pick(s2, 'exp_avg'), pick(s2, 'exp_avg_sq')];
    assert.ok(relDiff(m1, g1, 1 - b1) < 1e-3, 'm1 = (1 − β1)·g1');
    const g1sq: Grad = new Map([...g1].map(([k, x]) => [k, x.map((v) => v * v)]));
    assert.ok(relDiff(v1, g1sq, 1 - b2) < 1e-3, 'v1 = (1 − β2)·g1²');
    // Step 2's gradient from m2 = β1·m1 + (1 − β1)·g2; then v2 must be β2·v1 + (1 − β2)·g2².
    const g2: Grad = new Map([...m2].map(([k, m]) => [k, m.map((v, i) => (v - b1 * m1.get(k)![i]) / (1 - b1))]));
    close('step 2 |g|', norm(g2), gradNorm(run, 2), 1e-3);
    const v2want: Grad = new Map([...v1].map(([k, v]) => [k, v.map((x, i) => b2 * x + (1 - b2) * g2.get(k)![i] ** 2)]));
    assert.ok(relDiff(v2, v2want) < 1e-3, 'v2 = β2·v1 + (1 − β2)·g2²');
    // The second update with bias corrections 1 − β^2 and ε outside the square root.
    const step2: Grad = new Map([...m2].map(([k, m]) => [k, m.map((v, i) => (LR * (v / (1 - b1 ** 2))) / (Math.sqrt(v2.get(k)![i] / (1 - b2 ** 2)) + EPS))]));
    const moved: Grad = new Map([...w1].map(([k, x]) => [k, Float64Array.from(x.data, (v, i) => v - w2.get(k)!.data[i])]));
    assert.ok(relDiff(moved, step2) < 1e-3, 'w2 = w1 − lr·m̂2/(√v̂2 + ε)');
  });

  it('learning_rate, warm-up (steps or ratio) and decay: logged per step, and the first update uses it', async () => {
    const peak = 1e-2;
    const T = 5;
    const expected = (type: string, W: number) =>
      Array.from({ length: T }, (_, s) => {
        if (s < W) return (peak * s) / W; // transformers' warm-up: the first update at 0, the peak after W steps
        const p = (s - W) / (T - W);
        return type === 'constant' ? peak : type === 'linear' ? peak * (1 - p) : peak * 0.5 * (1 + Math.cos(Math.PI * p));
      });
    for (const [type, fields, W] of [
      ['linear', { warmup_steps: 2 }, 2],
      ['cosine', { warmup_ratio: 0.3 }, 2],
      ['constant', { warmup_steps: 1 }, 1],
      ['cosine', {}, 0],
    ] as const) {
      const run = await wiringRun(path.join(root, `lr-${type}-${W}-${Object.keys(fields).join('')}`), {
        ...base(),
        learning_rate: peak,
        lr_scheduler_type: type,
        max_steps: T,
        save_steps: 1,
        save_total_limit: null,
        ...fields,
      });
      const want = expected(type, W);
      for (let s = 1; s <= T; s++) close(`${type} W=${W} learning_rate at step ${s}`, run.train.get(s)!.learning_rate, want[s - 1], 1e-9);
      // The weights after step 1 were moved with the logged rate (under a warm-up: 0, so not at all).
      const w1 = weightsOf(path.join(run.dir, 'checkpoints', 'step-1'));
      if (W > 0) assert.deepEqual(w1, w0, `${type} W=${W}: the first warm-up update runs at rate 0`);
      else close(`${type} W=${W}: |g| from the step-1 update at the logged rate`, norm(recoverGrad(w0, w1, want[0])), gradNorm(run), 1e-3);
    }
  });
});
