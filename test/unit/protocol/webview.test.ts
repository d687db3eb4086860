import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseHostToLabel, parseHostToMetrics, parseHostToProbe, parseLabelToHost, parseMetricsToHost, parseProbeToHost } from '../../../src/protocol';

const pair = { line: 3, kind: 'todo', problems: [], prompt: 'p', responses: ['a', [{ role: 'assistant', content: 'b' }]], swapped: false, prev: 2, next: 0 };

describe('webview messages are checked where they arrive', () => {
  it('accepts well-formed labeling messages both ways', () => {
    for (const m of [
      { type: 'webview/ready', params: { protocolVersion: 1 } },
      { type: 'label/decide', params: { line: 3, decision: 'tie' } },
      { type: 'label/edit', params: { line: 3, texts: [null, 'new b'] } },
      { type: 'label/show', params: { direction: 'todo', line: 0 } },
      { type: 'label/undo', params: {} },
    ])
      assert.equal(parseLabelToHost(m).ok, true, JSON.stringify(m));
    assert.equal(parseHostToLabel({ type: 'label/didShow', params: { pair } }).ok, true);
    assert.equal(
      parseHostToLabel({ type: 'label/didCounts', params: { counts: { pairs: 1, labeled: 0, tie: 0, skip: 0, left: 1, bad: 0, pending: 0 } } }).ok,
      true,
    );
    const counts = { pairs: 6, labeled: 6, tie: 0, skip: 0, left: 0, bad: 0, pending: 0 };
    assert.equal(parseHostToLabel({ type: 'label/didCounts', params: { counts: { ...counts, review: { reviewed: 2, queued: 6 } } } }).ok, true);
    assert.equal(parseHostToLabel({ type: 'label/didCounts', params: { counts: { ...counts, review: { reviewed: '2', queued: 6 } } } }).ok, false);
  });

  it('refuses what a page could forge or a bug could send, naming the field', () => {
    const refusals: [unknown, RegExp][] = [
      [{ type: 'label/decide', params: { line: 3, decision: 'c' } }, /params\.decision/],
      [{ type: 'label/decide', params: { line: -1, decision: 'a' } }, /params\.line/],
      [{ type: 'label/decide', params: { line: 1.5, decision: 'a' } }, /params\.line/],
      [{ type: 'label/edit', params: { line: 3, texts: ['only one'] } }, /params\.texts/],
      [{ type: 'label/edit', params: { line: 3, texts: [1, null] } }, /params\.texts/],
      [{ type: 'label/show', params: { direction: 'sideways', line: 1 } }, /params\.direction/],
      [{ type: 'label/delete', params: {} }, /unknown message type/],
      ['label/undo', /a message is \{type, params\}/],
    ];
    for (const [m, error] of refusals) {
      const r = parseLabelToHost(m);
      assert.equal(r.ok, false, JSON.stringify(m));
      if (!r.ok) assert.match(r.error, error);
    }
    const bad = parseHostToLabel({ type: 'label/didShow', params: { pair: { ...pair, responses: ['only one'] } } });
    assert.equal(bad.ok, false);
    assert.equal(parseHostToLabel({ type: 'label/didShow', params: { pair: { ...pair, prompt: [{ role: 'user' }] } } }).ok, false, 'a message without content');
  });

  it('the other panels keep their guards', () => {
    assert.equal(parseProbeToHost({ type: 'probe/cancel', params: {} }).ok, true);
    assert.equal(parseMetricsToHost({ type: 'metrics/savePng', params: { name: 'x', dataUrl: 'javascript:alert(1)' } }).ok, false);
    assert.equal(parseHostToProbe({ type: 'probe/didToken', params: { which: 'judge', text: 'x' } }).ok, false);
  });

  it("the metrics panel's drill-down texts and Resume are checked", () => {
    const pairs = [{ step: 3, split: 'train', line: 1, chosen_reward: 0.1, rejected_reward: -0.1, margin: 0.2, loss: 0.6 }];
    const texts = [{ line: 1, prompt: 'p', chosen: 'c', rejected: 'r' }];
    const didPairs = (t: unknown) => parseHostToMetrics({ type: 'metrics/didPairs', params: { runDir: '/r', step: 3, split: 'train', pairs, texts: t } });
    assert.equal(didPairs(texts).ok, true);
    assert.equal(didPairs([{ line: 1, prompt: 'p', chosen: 3, rejected: 'r' }]).ok, false, 'a text that is not a string');
    assert.equal(didPairs(undefined).ok, false, 'texts are required');
    assert.equal(parseMetricsToHost({ type: 'metrics/resume', params: { runDir: '/r' } }).ok, true);
    assert.equal(parseMetricsToHost({ type: 'metrics/resume', params: {} }).ok, false);
    const append = (resumable: unknown) =>
      parseHostToMetrics({ type: 'metrics/didAppend', params: { runDir: '/r', records: [], status: 'stopped', resumable } });
    assert.equal(append(true).ok, true);
    assert.equal(append('yes').ok, false);
  });

  it("the metrics panel's phase and the drill-down's panel width are checked", () => {
    const progress = (p: unknown) =>
      parseHostToMetrics({ type: 'metrics/didAppend', params: { runDir: '/r', records: [], status: 'running', progress: p } }).ok;
    assert.equal(progress({ text: 'precomputing reference log-probs', done: 12, total: 30 }), true);
    assert.equal(progress(undefined), true);
    assert.equal(progress({ text: 'evaluating', done: '12', total: 30 }), false);
    assert.equal(progress('evaluating'), false);
    const open = (w: unknown) => parseMetricsToHost({ type: 'metrics/openLine', params: { runDir: '/r', line: 3, split: 'train', panelWidth: w } }).ok;
    assert.equal(open(700), true);
    assert.equal(open(undefined), true);
    assert.equal(open('wide'), false);
  });
});
