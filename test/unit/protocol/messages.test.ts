import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { eventLine, parseEngineMessage, parseRequest, requestLine } from '../../../src/protocol';

describe('engine protocol guards', () => {
  it('accepts well-formed requests', () => {
    const r = parseRequest(requestLine(3, 'run/start', { mode: 'dpo', config: { model: '/m' } }));
    assert.ok(r.ok);
    assert.equal(r.ok && r.value.type, 'run/start');
    assert.ok(parseRequest('{"kind":"request","id":1,"type":"run/stop"}').ok);
  });

  const bad: [string, RegExp, number | undefined][] = [
    ['not json', /^not JSON/, undefined],
    ['[1,2]', /must be a JSON object/, undefined],
    ['{"kind":"event","id":1,"type":"run/stop","params":{}}', /kind must be "request"/, 1],
    ['{"kind":"request","type":"run/stop","params":{}}', /id must be an integer/, undefined],
    ['{"kind":"request","id":2,"type":"run/explode","params":{}}', /unknown request type "run\/explode"/, 2],
    ['{"kind":"request","id":4,"type":"run/start","params":{"mode":"ppo","config":{}}}', /run\/start: params\.mode must be one of "dpo", "sft"/, 4],
    ['{"kind":"request","id":5,"type":"run/start","params":{"mode":"dpo","config":"x"}}', /params\.config must be an object/, 5],
    ['{"kind":"request","id":6,"type":"run/resume","params":{}}', /params\.runDir must be a string/, 6],
  ];
  for (const [line, message, id] of bad) {
    it(`rejects ${line.slice(0, 40)}… with a reason${id !== undefined ? ' and its id' : ''}`, () => {
      const r = parseRequest(line);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.error : '', message);
      assert.equal(r.id, id);
    });
  }

  it('host side: events are checked against their params', () => {
    assert.ok(parseEngineMessage(eventLine('run/didCheckpoint', { step: 3, dir: '/x' })).ok);
    const bad = parseEngineMessage('{"kind":"event","type":"run/didLogMetrics","params":{"record":{"step":"1"}}}');
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /run\/didLogMetrics: params\.record must be a record of numbers/);
    assert.equal(parseEngineMessage('{"kind":"event","type":"run/didExplode","params":{}}').ok, false);
    assert.equal(parseEngineMessage('{"kind":"reply","id":1,"ok":false}').ok, false);
  });
});
