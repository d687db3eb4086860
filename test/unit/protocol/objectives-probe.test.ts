import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseHostToProbe, probeScoreNote } from '../../../src/protocol';

describe('the probe says which score it shows, per objective', () => {
  it('DPO-family runs need no note; SimPO, ORPO and KTO runs say what the score is to them', () => {
    for (const lt of ['sigmoid', 'ipo', 'hinge', ['sigmoid', 'sft']]) assert.equal(probeScoreNote('dpo', lt), undefined, JSON.stringify(lt));
    assert.equal(probeScoreNote('sft', 'sigmoid'), undefined);
    assert.match(probeScoreNote('dpo', 'simpo')!, /SimPO, which has no reference: its own reward is β·mean log πθ/);
    assert.match(probeScoreNote('dpo', 'orpo')!, /ORPO.*log_odds_ratio/);
    assert.match(probeScoreNote('kto', 'sigmoid')!, /before its batch's KL reference point/);
  });

  it('the note crosses to the webview, checked like every field', () => {
    const init = { protocolVersion: 1, policyDir: 'p', referenceDir: 'r', beta: 0.1, chatTemplate: false, promoteFile: 'f', dataPairs: [] };
    assert.ok(parseHostToProbe({ type: 'host/didInit', params: { ...init, scoreNote: 'x' } }).ok);
    assert.ok(parseHostToProbe({ type: 'host/didInit', params: init }).ok);
    assert.equal(parseHostToProbe({ type: 'host/didInit', params: { ...init, scoreNote: 3 } }).ok, false);
  });
});
