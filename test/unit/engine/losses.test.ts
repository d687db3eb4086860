// Each loss against values computed by hand (and in float64 JS), and its gradient with respect to
// the four log-probs against central finite differences.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../helpers/fixtures';
import { LOSSES, LossFn, PairLogps, logSigmoid } from '../../../src/engine/dpo/losses';

type Four = [number, number, number, number]; // policy chosen, policy rejected, ref chosen, ref rejected

async function lossAt(fn: LossFn, v: Four[], beta: number, labelSmoothing = 0): Promise<number[]> {
  const out = tf.tidy(() => fn(toLogps(v), { beta, labelSmoothing }));
  const data = Array.from(await out.data());
  out.dispose();
  return data;
}

function toLogps(v: Four[]): PairLogps {
  const col = (i: number) => tf.tensor1d(v.map((r) => r[i]));
  return { policyChosenLogps: col(0), policyRejectedLogps: col(1), referenceChosenLogps: col(2), referenceRejectedLogps: col(3) };
}

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

describe('DPO losses', () => {
  before(useTestBackend);

  // The worked example: β = 0.1, policy log-probs -10 (chosen) and -12 (rejected), reference -11 and
  // -11.5. h = (-10 - -12) - (-11 - -11.5) = 2 - 0.5 = 1.5, so βh = 0.15.
  const example: Four = [-10, -12, -11, -11.5];
  const beta = 0.1;

  it('sigmoid (Eq. 7): -log σ(βh) = log(1 + e^-0.15) = 0.62096...', async () => {
    const [loss] = await lossAt(LOSSES.sigmoid, [example], beta);
    close(loss, 0.620957077, 1e-6);
    close(loss, Math.log1p(Math.exp(-0.15)));
  });

  it('conservative DPO, ε = 0.1: -(0.9) log σ(0.15) - 0.1 log σ(-0.15) = 0.63596...', async () => {
    const [loss] = await lossAt(LOSSES.sigmoid, [example], beta, 0.1);
    const want = 0.9 * Math.log1p(Math.exp(-0.15)) + 0.1 * Math.log1p(Math.exp(0.15));
    close(loss, want);
    close(loss, 0.635957062, 1e-6);
  });

  it('ipo: (h - 1/(2β))² = (1.5 - 5)² = 12.25', async () => {
    const [loss] = await lossAt(LOSSES.ipo, [example], beta);
    close(loss, 12.25);
  });

  it('hinge: max(0, 1 - βh) = 0.85, and 0 once βh ≥ 1', async () => {
    const losses = await lossAt(LOSSES.hinge, [example, [-1, -30, -10, -10]], beta);
    close(losses[0], 0.85);
    assert.equal(losses[1], 0);
  });

  it('reference-free is the same loss with the reference log-probs at 0', async () => {
    const [loss] = await lossAt(LOSSES.sigmoid, [[-10, -12, 0, 0]], beta);
    close(loss, Math.log1p(Math.exp(-0.2)));
  });

  it('at policy == reference every pair costs log 2 (sigmoid)', async () => {
    const losses = await lossAt(
      LOSSES.sigmoid,
      [
        [-5, -7, -5, -7],
        [-40, -3, -40, -3],
      ],
      beta,
    );
    for (const l of losses) close(l, Math.LN2);
  });

  it('log σ stays finite and exact far from 0', async () => {
    const v = await tf.tidy(() => logSigmoid(tf.tensor1d([-200, -30, 0, 30, 200]))).data();
    close(v[0], -200);
    close(v[1], -30 - Math.log1p(Math.exp(-30)));
    close(v[2], -Math.LN2);
    assert.ok(Math.abs(v[3]) < 1e-12 || Math.abs(v[3] + Math.exp(-30)) < 1e-12);
    assert.equal(v[4], 0);
  });

  for (const [name, eps] of [
    ['sigmoid', 0],
    ['sigmoid', 0.2],
    ['ipo', 0],
    ['hinge', 0],
  ] as const) {
    it(`${name}${eps ? ` (ε=${eps})` : ''}: gradient w.r.t. the four log-probs matches finite differences`, async () => {
      const fn = LOSSES[name];
      const point: Four[] = [
        [-10, -12, -11, -11.5],
        [-3, -2, -4, -1],
      ];
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(
          fn(
            {
              policyChosenLogps: a as tf.Tensor1D,
              policyRejectedLogps: b as tf.Tensor1D,
              referenceChosenLogps: c as tf.Tensor1D,
              referenceRejectedLogps: d as tf.Tensor1D,
            },
            { beta, labelSmoothing: eps },
          ),
        ),
      );
      const cols = [0, 1, 2, 3].map((i) => tf.tensor1d(point.map((r) => r[i])));
      const analytic = await Promise.all(grads(cols).map((g) => g.data()));
      const h = 1e-3;
      for (let arg = 0; arg < 4; arg++) {
        for (let row = 0; row < point.length; row++) {
          const shifted = (delta: number) => point.map((r, i) => r.map((x, j) => (i === row && j === arg ? x + delta : x)) as Four);
          const [plus, minus] = [await lossAt(fn, shifted(h), beta, eps), await lossAt(fn, shifted(-h), beta, eps)];
          const numeric = (plus[row] - minus[row]) / (2 * h);
          assert.ok(
            Math.abs(analytic[arg][row] - numeric) < 2e-3 * Math.max(1, Math.abs(numeric)),
            `${name} d/d arg${arg} row${row}: ${analytic[arg][row]} vs ${numeric}`,
          );
        }
      }
      // The signs the paper's gradient analysis predicts: raise the chosen, lower the rejected.
      assert.ok(analytic[0][0] < 0 && analytic[1][0] > 0);
    });
  }
});
