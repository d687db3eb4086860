// dpo eval's statistics against numbers worked by hand (each case says how): the clustered mean and
// its error, the Wilson interval at the effective sample size, the length-controlled win rate.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Outcome, clusteredMean, lengthControlledWinRate, normalInterval, verdictFromMargin, wilson, winRate } from '../../../../src/node/eval/stats';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const obs = (rows: number[][]) => rows.flatMap((values, cluster) => values.map((value) => ({ cluster, value })));

describe('clusteredMean', () => {
  it('is the CR1 sandwich error over prompts', () => {
    // Prompts [1,0] [1,1] [0,0]: mean 1/2; per-prompt sums of deviations 0, 1, -1; G = 3, N = 6:
    // var = 3/2 · (0 + 1 + 1) / 36 = 1/12.
    const m = clusteredMean(
      obs([
        [1, 0],
        [1, 1],
        [0, 0],
      ]),
    );
    close(m.mean, 0.5);
    close(m.se, Math.sqrt(1 / 12));
    assert.equal(m.clusters, 3);
  });

  it('is wider than the i.i.d. error when the samples of a prompt agree', () => {
    // Same 6 values; i.i.d. var of the mean = s²/n = 0.3/6 = 0.05 < 1/12: correlation is not ignored.
    const m = clusteredMean(
      obs([
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
    );
    close(m.mean, 2 / 3);
    // deviations per prompt: 2/3, 2/3, -4/3; ss = 4/9+4/9+16/9 = 24/9; var = 3/2 · 24/9 / 36 = 1/9
    close(m.se, 1 / 3);
  });

  it('with one prompt falls back to the i.i.d. error over its samples; with one value, 0', () => {
    const m = clusteredMean(obs([[1, 2, 3]]));
    close(m.mean, 2);
    close(m.se, Math.sqrt(1 / 3)); // s² = 1, n = 3
    assert.equal(clusteredMean(obs([[5]])).se, 0);
  });

  it('normalInterval is mean ± 1.96·SE', () => {
    const [lo, hi] = normalInterval({ mean: 1, se: 0.5, clusters: 4, n: 8 });
    close(lo, 1 - 0.979981992270027);
    close(hi, 1 + 0.979981992270027);
  });
});

describe('winRate', () => {
  const outcomes = (rows: Outcome[][]) => rows.flatMap((o, cluster) => o.map((outcome) => ({ cluster, outcome })));

  it('counts ties as half and uses Wilson at n_eff = p(1-p)/SE²', () => {
    // As the first clusteredMean case: p = 1/2, SE² = 1/12, n_eff = 3. Wilson(1/2, 3) worked out:
    // center 1/2, half = 1.96/(1 + 1.96²/3) · sqrt(1/12 + 1.96²/36) = 0.374665528.
    const w = winRate(
      outcomes([
        ['win', 'loss'],
        ['win', 'win'],
        ['loss', 'loss'],
      ]),
    );
    assert.deepEqual([w.wins, w.ties, w.losses], [3, 0, 3]);
    close(w.winRate, 0.5);
    close(w.interval[0], 0.1253344719102632, 1e-12);
    close(w.interval[1], 0.8746655280897369, 1e-12);
    const t = winRate(
      outcomes([
        ['win', 'tie'],
        ['tie', 'loss'],
      ]),
    );
    close(t.winRate, 0.5);
    assert.equal(t.ties, 2);
  });

  it('all wins over 3 prompts is not a point: Wilson(1, 3) = [0.4385, 1]', () => {
    const w = winRate(
      outcomes([
        ['win', 'win'],
        ['win', 'win'],
        ['win', 'win'],
      ]),
    );
    close(w.winRate, 1);
    close(w.interval[0], 0.43850296824495455, 1e-12);
    close(w.interval[1], 1);
  });

  it('wilson stays in [0, 1] and widens as n shrinks', () => {
    const [a, b] = wilson(0.9, 5);
    assert.ok(a >= 0 && b <= 1 && a < 0.9 && b > 0.9);
    assert.ok(wilson(0.9, 5)[1] - wilson(0.9, 5)[0] > wilson(0.9, 50)[1] - wilson(0.9, 50)[0]);
    assert.deepEqual(wilson(0.5, 0), [0, 1]);
  });
});

describe('lengthControlledWinRate', () => {
  it('removes a win rate that comes from length alone', () => {
    // Longer policy answers (+10 tokens, 6 pairs) win 3/4 of the time, shorter ones (−10, 2 pairs)
    // 1/4: the raw rate is (4.5 + 0.5)/8 = 0.625. With x = ±tanh(10/sd) the fit is exact at
    // σ(a ± b·x) = 3/4, 1/4, so a = 0: at equal length the policy wins half the time.
    const pairs: { outcome: Outcome; lengthDiff: number }[] = [
      ...(['win', 'win', 'win', 'win', 'tie', 'loss'] as Outcome[]).map((outcome) => ({ outcome, lengthDiff: 10 })),
      ...(['tie', 'loss'] as Outcome[]).map((outcome) => ({ outcome, lengthDiff: -10 })),
    ];
    const lc = lengthControlledWinRate(pairs)!;
    close(lc, 0.5, 0.01); // the 0.01 ridge on the slope moves it a little
    assert.ok(lc < 0.6);
  });

  it('equals the raw rate when wins do not depend on length', () => {
    // 2/3 wins at +5 and at −5: slope 0 solves the equations, σ(a) = 2/3.
    const pairs: { outcome: Outcome; lengthDiff: number }[] = (
      [
        ['win', 5],
        ['win', -5],
        ['loss', 5],
        ['win', 5],
        ['win', -5],
        ['loss', -5],
      ] as [Outcome, number][]
    ).map(([outcome, lengthDiff]) => ({ outcome, lengthDiff }));
    close(lengthControlledWinRate(pairs)!, 2 / 3, 1e-9);
  });

  it('degenerate cases: all wins, no length variance, fewer than 2 pairs, perfect separation', () => {
    assert.equal(lengthControlledWinRate([1, 2, 3].map((d) => ({ outcome: 'win' as const, lengthDiff: d }))), 1);
    close(lengthControlledWinRate((['win', 'loss', 'win'] as Outcome[]).map((outcome) => ({ outcome, lengthDiff: 4 })))!, 2 / 3);
    assert.equal(lengthControlledWinRate([{ outcome: 'win', lengthDiff: 1 }]), undefined);
    const sep = lengthControlledWinRate([-3, -2, 2, 3].map((d) => ({ outcome: (d > 0 ? 'win' : 'loss') as Outcome, lengthDiff: d })))!;
    assert.ok(Number.isFinite(sep) && sep > 0 && sep < 1, String(sep));
    close(sep, 0.5, 1e-6); // symmetric data: the intercept stays 0
  });
});

describe('verdictFromMargin', () => {
  it('is a tie within the margin, else the sign', () => {
    assert.equal(verdictFromMargin(5e-7), 'tie');
    assert.equal(verdictFromMargin(-0.2), 'loss');
    assert.equal(verdictFromMargin(0.2), 'win');
    assert.equal(verdictFromMargin(0.2, 0.5), 'tie');
  });
});
