// The labeling editor's unpaired mode ({prompt, completion, label}, TRL's format for KTO): what a line
// is, what thumbs up/down write, edits of the completion, progress counts and the titles shown.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { applyDecision, editResponse, inspectLine } from '../../../src/extension/labeling/pair-line';
import { LineIndex } from '../../../src/extension/labeling/line-index';
import { parseHostToLabel } from '../../../src/protocol';
import { thumbTitle } from '../../../webview/labeling/view-text';

const meta = { annotator: 'ann', time: '2026-12-03T19:00:00.000Z' };

describe('labeling: unpaired lines (thumbs up/down)', () => {
  it('an unlabeled completion is to label; label true is thumbs up (a), false thumbs down (b)', () => {
    const todo = inspectLine('{"prompt": "Q", "completion": " A"}');
    assert.deepEqual([todo.kind, todo.unpaired, todo.completion, todo.prompt], ['todo', true, ' A', 'Q']);
    assert.equal(inspectLine('{"prompt": "Q", "completion": " A", "label": true}').kind, 'a');
    assert.equal(inspectLine('{"prompt": "Q", "completion": " A", "label": false}').kind, 'b');
  });

  it('problems name the field: a non-boolean label, an empty completion, mixed formats', () => {
    const bad = inspectLine('{"prompt": "Q", "completion": " A", "label": "yes"}');
    assert.equal(bad.kind, 'bad');
    assert.deepEqual(
      bad.problems.map((p) => p.field),
      ['label'],
    );
    assert.match(bad.problems[0].message, /true \(desirable, thumbs up\) or false/);
    assert.deepEqual(
      inspectLine('{"prompt": "Q", "completion": ""}').problems.map((p) => p.field),
      ['completion'],
    );
    const mixed = inspectLine('{"prompt": [{"role": "user", "content": "Q"}], "completion": "A"}');
    assert.match(mixed.problems[0].message, /one format per line/);
  });

  it('thumbs up/down write the boolean label with annotator and time; the rest of the line keeps its text', () => {
    const text = '{"prompt": "Q",  "completion": " A", "source": {"id": 7}}';
    const up = applyDecision(text, 'a', meta);
    assert.deepEqual(JSON.parse(up), { prompt: 'Q', completion: ' A', source: { id: 7 }, label: true, annotator: 'ann', labeled_at: meta.time });
    assert.ok(up.startsWith('{"prompt": "Q",  "completion": " A", "source": {"id": 7}'), up);
    const down = applyDecision(up, 'b', meta);
    assert.equal(JSON.parse(down).label, false);
    assert.equal(inspectLine(down).kind, 'b');
    assert.throws(() => applyDecision(text, 'tie', meta), /thumbs up \(a\) or down \(b\)/);
  });

  it('an edit changes the completion (the last message of a message list)', () => {
    assert.equal(JSON.parse(editResponse('{"prompt": "Q", "completion": " A", "label": true}', 0, ' B')).completion, ' B');
    const chat = '{"prompt": [{"role": "user", "content": "Q"}], "completion": [{"role": "assistant", "content": "A"}]}';
    assert.deepEqual(JSON.parse(editResponse(chat, 0, 'B')).completion, [{ role: 'assistant', content: 'B' }]);
  });

  it('progress counts thumbs as labeled and unlabeled completions as left', () => {
    const lines = [
      '{"prompt": "Q", "completion": "a", "label": true}',
      '{"prompt": "Q", "completion": "b", "label": false}',
      '{"prompt": "Q", "completion": "c"}',
    ];
    const index = new LineIndex({ lineCount: lines.length, lineAt: (i) => lines[i] });
    index.scan(lines.length);
    const c = index.counts();
    assert.deepEqual([c.labeled, c.left, c.bad], [2, 1, 0]);
  });

  it('the view message carries the completion; blind mode hides its label', () => {
    const pair = { line: 1, kind: 'a', problems: [], prompt: 'Q', completion: ' A', unpaired: true, swapped: false, prev: 0, next: 0 };
    assert.ok(parseHostToLabel({ type: 'label/didShow', params: { pair } }).ok);
    assert.ok(!parseHostToLabel({ type: 'label/didShow', params: { pair: { ...pair, completion: 3 } } }).ok);
    assert.equal(thumbTitle('a', false), 'Completion — 👍 desirable (label true)');
    assert.equal(thumbTitle('b', false), 'Completion — 👎 undesirable (label false)');
    assert.equal(thumbTitle('a', true), 'Completion');
  });
});
