// The metrics panel's charts for the runs shown, from their config's loss_type as the host sends it
// (hand-written here: names the engines take and ones they do not take yet).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CHARTS, chartDefs } from '../../../webview/metrics/objective-charts';

const chart = (lossTypes: (string | string[] | undefined)[], id: string) => chartDefs(lossTypes).find((c) => c.id === id)!;

describe('metrics panel: charts per objective', () => {
  it('a DPO run: rewards against the reference, summed log-probs', () => {
    assert.equal(chart(['sigmoid'], 'rewards').yLabel, 'reward β·log(πθ/πref)');
    assert.equal(chart(['sigmoid'], 'logps').yLabel, 'summed log p');
  });

  it('a SimPO or ORPO run: no reference rewards and no "summed log p"', () => {
    for (const t of ['simpo', 'orpo']) {
      assert.match(chart([t], 'rewards').title, /no reference/);
      assert.match(chart([t], 'margins').title, /no reference/);
      assert.equal(chart([t], 'logps').yLabel, 'mean log p per token');
    }
  });

  it('runs of different objectives together: neutral titles; SFT runs (no loss_type) do not count', () => {
    assert.equal(chart(['sigmoid', 'orpo'], 'rewards').yLabel, 'reward');
    assert.equal(chart([undefined, 'orpo'], 'logps').yLabel, 'mean log p per token');
  });

  it('no objective known yet (a run whose config is not read yet): DPO titles, not "no reference"', () => {
    assert.equal(chart([undefined], 'rewards').title, 'Rewards: chosen / rejected');
    assert.doesNotMatch(chart([undefined], 'margins').title, /no reference/);
    assert.doesNotMatch(chart([], 'margins').title, /no reference/);
  });

  it("every objective's own series has a chart; the ids and metric lists are the base charts' plus those", () => {
    const ids = chartDefs(['kto']).map((c) => c.id);
    for (const id of ['kl', 'nll_loss', 'log_odds_ratio', 'log_odds_chosen']) assert.ok(ids.includes(id), id);
    assert.deepEqual(
      ids,
      CHARTS.map((c) => c.id),
    );
    assert.deepEqual(
      chartDefs(['simpo']).map((c) => c.metrics),
      CHARTS.map((c) => c.metrics),
    );
  });
});
