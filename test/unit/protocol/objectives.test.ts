// The objective table the metrics panel, the New Training Run flow and health advice read: each
// objective's chart labels, with hand-written loss types (the engines' names and ones not known yet).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  OBJECTIVE_CHARTS,
  OBJECTIVE_ORDER,
  OBJECTIVES,
  objectiveChartLabels,
  objectiveFields,
  objectiveKey,
  objectiveOf,
  resolveConfig,
  scoreNote,
} from '../../../src/protocol';

const labels = (...lossTypes: unknown[]) => objectiveChartLabels(lossTypes.map((t) => objectiveOf(t)));

describe('objectives: chart labels per objective', () => {
  it('DPO: rewards against the reference, summed log-probs', () => {
    const l = labels('sigmoid');
    assert.equal(l.rewards.yLabel, 'reward β·log(πθ/πref)');
    assert.equal(l.logps.yLabel, 'summed log p');
    assert.equal(l.margins.title, 'Reward margin');
  });

  it('SimPO and ORPO: no reference rewards, no "summed log p" (their log-probs are per-token means)', () => {
    for (const t of ['simpo', 'orpo']) {
      const l = labels(t);
      assert.doesNotMatch(`${l.rewards.title} ${l.rewards.yLabel}`, /πref/, t);
      assert.match(l.rewards.title, /no reference/, t);
      assert.equal(l.logps.yLabel, 'mean log p per token', t);
      assert.doesNotMatch(`${l.logps.title} ${l.logps.yLabel}`, /summed/, t);
    }
  });

  it('IPO: its logged log-probs are sums (as TRL logs them) and the title says the loss reads means', () => {
    const l = labels('ipo');
    assert.equal(l.logps.yLabel, 'summed log p');
    assert.match(l.logps.title, /loss reads per-token means/);
  });

  it('KTO keeps reference rewards and has a kl chart; ORPO its log-odds charts; nll_loss a chart', () => {
    assert.equal(labels('kto').rewards.yLabel, 'reward β·log(πθ/πref)');
    const byMetric = new Map(OBJECTIVE_CHARTS.flatMap((c) => c.metrics.map((m) => [m, c.id])));
    for (const m of ['kl', 'log_odds_ratio', 'log_odds_chosen', 'nll_loss']) assert.ok(byMetric.has(m), m);
  });

  it('runs with different objectives shown together get neutral labels', () => {
    const l = labels('sigmoid', 'simpo');
    assert.equal(l.rewards.yLabel, 'reward');
    assert.equal(l.logps.yLabel, 'log p');
    assert.equal(labels('sigmoid', ['sigmoid', 'sft']).rewards.yLabel, 'reward β·log(πθ/πref)', 'RPO has a reference too');
  });

  it('lists and unknown names: RPO is named, other lists by their members, a newer name opens neutrally', () => {
    assert.equal(objectiveOf(['sigmoid', 'sft']).title, 'RPO (DPO + NLL)');
    assert.equal(objectiveOf(['sigmoid', 'bco_pair', 'sft']).id, 'sigmoid+bco_pair+sft');
    assert.equal(objectiveOf('sigmoid', 0.1).title, 'cDPO');
    const future = objectiveOf('dpo-next');
    assert.equal(future.title, 'dpo-next');
    assert.equal(labels('dpo-next').rewards.title, 'Rewards: chosen / rejected');
  });

  it('every objective in the README / New Run order has a paper and a one-line "when"', () => {
    for (const k of OBJECTIVE_ORDER) {
      const o = OBJECTIVES[k];
      assert.ok(o.paper.length > 0 && o.when.length > 0 && !o.when.includes('\n'), k);
    }
  });
});

describe('objectives: the README table', () => {
  it('"Which objective when" lists every objective with its paper', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const readme = fs.readFileSync(path.resolve(__dirname, '../../../../README.md'), 'utf8');
    const table = readme.split('## Which objective when')[1].split('\n## ')[0];
    for (const k of OBJECTIVE_ORDER.filter((x) => x !== 'bco_pair')) {
      const o = OBJECTIVES[k];
      assert.ok(table.includes(`| ${o.title} |`), `${k}: a row`);
      assert.ok(table.includes(o.paper), `${k}: its paper "${o.paper}"`);
    }
  });
});

describe('objectives: the fields New Training Run writes for a choice', () => {
  it('each choice is a config the engines take, and reads back as the same choice', () => {
    for (const [engine, keys] of [
      ['tfjs', ['sigmoid', 'ipo', 'cdpo', 'hinge', 'rpo', 'bco_pair']],
      ['torch', ['sigmoid', 'ipo', 'hinge', 'rpo', 'bco_pair']],
    ] as const) {
      for (const k of keys) {
        const c = resolveConfig({ model: 'm', data: 'd', engine, ...objectiveFields(k) });
        assert.equal(objectiveKey(c as unknown as Record<string, unknown>), k, `${engine} ${k}`);
      }
    }
    assert.deepEqual(objectiveFields('rpo'), { loss_type: ['sigmoid', 'sft'], loss_weights: [1, 1] });
    assert.throws(() => resolveConfig({ model: 'm', data: 'd', engine: 'torch', ...objectiveFields('cdpo') }), /label_smoothing/);
  });
});

describe('objectives: the score triage and the probe use', () => {
  it('says the implicit reward, and that reference-free objectives did not train on it', () => {
    assert.match(scoreNote('sigmoid'), /β·log\(πθ\/πref\).*DPO trains against that reference/);
    assert.match(scoreNote(['sigmoid', 'sft']), /RPO \(DPO \+ NLL\) trains against that reference/);
    assert.match(scoreNote('simpo'), /starting model as πref \(SimPO trains without a reference/);
  });
});
