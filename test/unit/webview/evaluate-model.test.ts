import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { frontierSeries, judgesOf, movePoint, paddedRange, pct, pointText, rowsFor, sortRows } from '../../../webview/evaluate/model';
import { judgeSummary } from '../helpers/eval-folders';
import type { EvaluationView } from '../../../src/protocol';

function ev(series: string, name: string, step: number | undefined, kl: number, judges: Record<string, number>, meanReward?: number): EvaluationView {
  return {
    dir: `/runs/${series}/eval/${name}`,
    series,
    name,
    step,
    summary: {
      version: 1,
      created: '',
      engine: 'tfjs',
      policy: '',
      reference: '',
      prompts: 4,
      samples: 1,
      seed: 0,
      max_new_tokens: 8,
      temperature: 1,
      kl,
      kl_ci: [kl - 0.1, kl + 0.1],
      kl_exact_sampler: true,
      judges: Object.fromEntries(Object.entries(judges).map(([n, w]) => [n, judgeSummary(n, w)])),
      models: { policy: { answers: 4, mean_length: 10, mean_reward: meanReward }, reference: { answers: 4, mean_length: 9 } },
    },
  };
}

// Two runs (β 0.1 and β 0.5), checkpoints written out of order, one final, one without a reward model.
const EVALS = [
  ev('beta-0.5', 'final', undefined, 0.3, { 'llm:j': 0.55 }, 0.2),
  ev('beta-0.1', 'checkpoint-40', 40, 0.9, { 'llm:j': 0.7, rm: 0.8 }, 0.6),
  ev('beta-0.1', 'checkpoint-20', 20, 0.4, { 'llm:j': 0.6 }, 0.35),
  ev('beta-0.1', 'final', 60, 1.4, { 'implicit:beta-0.5': 0.9 }),
  ev('beta-0.5', 'checkpoint-20', 20, 0.1, { 'llm:j': 0.52 }, 0.1),
];

describe('the Evaluate panel: table, sort and frontier (no DOM)', () => {
  it('offers every judge, first seen first, and fills a row from the chosen one', () => {
    assert.deepEqual(judgesOf(EVALS), ['llm:j', 'rm', 'implicit:beta-0.5']);
    const rows = rowsFor(EVALS, 'rm');
    assert.deepEqual(
      rows.map((r) => r.winRate),
      [undefined, 0.8, undefined, undefined, undefined],
    );
    assert.deepEqual(
      rows.map((r) => r.klExact),
      [true, true, true, true, true],
    );
    const inexact = {
      ...EVALS[0],
      summary: {
        ...EVALS[0].summary,
        kl_exact_sampler: false,
        models: { ...EVALS[0].summary.models, policy: { answers: 4, mean_length: 10, mean_reward: 0.2, mean_reward_ci: [0.1, 0.3] as [number, number] } },
      },
    };
    assert.deepEqual([rowsFor([inexact], 'llm:j')[0].klExact, rowsFor([inexact], 'llm:j')[0].meanRewardCi], [false, [0.1, 0.3]]);
    const implicit = rowsFor(EVALS, 'implicit:beta-0.5')[3];
    assert.deepEqual([implicit.winRate, implicit.notIndependent, implicit.kl, implicit.meanLengthReference], [0.9, true, 1.4, 9]);
  });

  it('sorts by any column, rows without a value last both ways, ties in run and step order', () => {
    const rows = rowsFor(EVALS, 'llm:j');
    const names = (rs: ReturnType<typeof rowsFor>) => rs.map((r) => `${r.series}/${r.name}`);
    assert.deepEqual(names(sortRows(rows, 'winRate', true)), [
      'beta-0.1/checkpoint-40',
      'beta-0.1/checkpoint-20',
      'beta-0.5/final',
      'beta-0.5/checkpoint-20',
      'beta-0.1/final',
    ]);
    assert.deepEqual(names(sortRows(rows, 'winRate', false)).slice(-1), ['beta-0.1/final']);
    assert.deepEqual(names(sortRows(rows, 'kl', false)), [
      'beta-0.5/checkpoint-20',
      'beta-0.5/final',
      'beta-0.1/checkpoint-20',
      'beta-0.1/checkpoint-40',
      'beta-0.1/final',
    ]);
    // By run: checkpoints by step, the final model (step or not) after them.
    assert.deepEqual(names(sortRows(rows, 'series', false)), [
      'beta-0.1/checkpoint-20',
      'beta-0.1/checkpoint-40',
      'beta-0.1/final',
      'beta-0.5/checkpoint-20',
      'beta-0.5/final',
    ]);
  });

  it('draws one series per run, points in step order against KL; evaluations without the y value are counted, not drawn', () => {
    const rows = rowsFor(EVALS, 'llm:j');
    const reward = frontierSeries(rows, 'reward');
    assert.deepEqual(
      reward.series.map((s) => [s.name, s.points.map((p) => [p.name, p.x, p.y])]),
      [
        [
          'beta-0.1',
          [
            ['checkpoint-20', 0.4, 0.35],
            ['checkpoint-40', 0.9, 0.6],
          ],
        ],
        [
          'beta-0.5',
          [
            ['checkpoint-20', 0.1, 0.1],
            ['final', 0.3, 0.2],
          ],
        ],
      ],
    );
    assert.equal(reward.missing, 1);
    const win = frontierSeries(rows, 'winRate');
    assert.deepEqual(
      win.series[0].points.map((p) => p.y),
      [0.6, 0.7],
    );
    assert.equal(win.missing, 1);
  });

  it('keys walk the points: along a run in step order, across runs to the nearest KL', () => {
    const { series } = frontierSeries(rowsFor(EVALS, 'llm:j'), 'reward');
    let at = movePoint(series, undefined, 'ArrowRight');
    assert.deepEqual(at, { s: 0, p: 0 });
    at = movePoint(series, at, 'ArrowRight');
    assert.deepEqual(at, { s: 0, p: 1 });
    assert.deepEqual(movePoint(series, at, 'ArrowRight'), { s: 0, p: 1 }, 'stays at the end');
    // From KL 0.9 to the other run: its nearest point by KL is the final model (0.3).
    assert.deepEqual(movePoint(series, at, 'ArrowDown'), { s: 1, p: 1 });
    assert.deepEqual(movePoint(series, { s: 0, p: 0 }, 'ArrowUp'), { s: 1, p: 1 });
    assert.deepEqual(movePoint(series, { s: 1, p: 1 }, 'Home'), { s: 1, p: 0 });
    assert.deepEqual(movePoint([], undefined, 'ArrowRight'), undefined);
  });

  it('says a point in words and pads the axes so every point is inside', () => {
    const { series } = frontierSeries(rowsFor(EVALS, 'llm:j'), 'winRate');
    assert.equal(pointText('beta-0.1', series[0].points[1], 'winRate'), 'beta-0.1 checkpoint-40: KL 0.900, win rate 70.0%');
    assert.equal(pointText('beta-0.5', series[1].points[1], 'reward'), 'beta-0.5 final: KL 0.300, mean reward 0.550');
    const [lo, hi] = paddedRange([0.1, 0.9]);
    assert.ok(lo < 0.1 && hi > 0.9 && hi - lo < 1);
    const [a, b] = paddedRange([2]);
    assert.ok(a < 2 && b > 2);
    assert.equal(pct(0.6344), '63.4%');
  });
});
