import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { isEvalSummaryShape, parseEvaluateToHost, parseHostToEvaluate, parseHostToProbe } from '../../../src/protocol';
import { tempDir } from '../helpers/fixtures';
import { writeEvalFolder } from '../helpers/eval-folders';

const summary = writeEvalFolder(path.join(tempDir('eval-msg'), 'e'), { kl: 0.2, judges: { 'llm:j': 0.6 }, pairs: [] });

describe('Evaluate panel messages (checked on arrival, both ways)', () => {
  it('accepts what each side sends and names the bad field of anything else', () => {
    assert.ok(parseEvaluateToHost({ type: 'evaluate/addPair', params: { dir: '/e', promptIndex: 0, sample: 0, judge: 'llm:j' } }).ok);
    assert.deepEqual(parseEvaluateToHost({ type: 'evaluate/addPair', params: { dir: '/e', promptIndex: '0', sample: 0, judge: 'x' } }), {
      ok: false,
      error: 'evaluate/addPair: bad or missing params.promptIndex',
    });
    assert.deepEqual(parseEvaluateToHost({ type: 'evaluate/runShell', params: {} }), { ok: false, error: 'unknown message type "evaluate/runShell"' });
    const list = { evaluations: [{ dir: '/e', series: 'run', name: 'final', summary }], problems: [], extraFolders: [] };
    assert.ok(parseHostToEvaluate({ type: 'evaluate/didList', params: list }).ok);
    const broken = { ...list, evaluations: [{ ...list.evaluations[0], summary: { ...summary, kl_ci: [0.1] } }] };
    assert.equal(parseHostToEvaluate({ type: 'evaluate/didList', params: broken }).ok, false);
  });

  it('a summary needs the fields the panel draws with; extra fields pass', () => {
    assert.ok(isEvalSummaryShape({ ...summary, extra: 1 }));
    assert.equal(isEvalSummaryShape({ ...summary, version: 2 }), false);
    assert.equal(isEvalSummaryShape({ ...summary, judges: { j: { win_rate: 0.5 } } }), false);
    assert.equal(isEvalSummaryShape({ ...summary, models: { policy: {} } }), false);
  });

  it("the probe's first message may carry a prompt to start with (Open in Probe)", () => {
    const init = { protocolVersion: 1, policyDir: '/p', referenceDir: '/r', beta: 0.1, chatTemplate: false, promoteFile: '/f', dataPairs: [] };
    assert.ok(parseHostToProbe({ type: 'host/didInit', params: init }).ok);
    assert.ok(parseHostToProbe({ type: 'host/didInit', params: { ...init, prompt: 'Say hi.' } }).ok);
    assert.equal(parseHostToProbe({ type: 'host/didInit', params: { ...init, prompt: 3 } }).ok, false);
  });
});
