// The server's flow control without an engine: stop strings held back across token pieces, and the
// bounded queue (full, in order, a waiting client that leaves).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { GenerationQueue, StreamText } from '../../../src/node/serve/stream-text';

describe('StreamText', () => {
  it('holds back what could begin a stop string and never sends the stop string', () => {
    const s = new StreamText(['END', 'x']);
    const sent = ['ab', 'cE', 'N', 'D', 'zz'].map((p) => s.push(p));
    assert.deepEqual(sent, ['', 'ab', 'c', '', '']); // 'E', 'EN' might be the start of 'END'
    assert.equal(sent.join('') + s.finish('abc'), 'abc');
  });

  it('without stops every piece goes out at once; finish sends what the final text adds', () => {
    const s = new StreamText([]);
    assert.deepEqual(
      ['a', 'b'].map((p) => s.push(p)),
      ['a', 'b'],
    );
    assert.equal(s.finish('ab\ufffd'), '\ufffd');
  });
});

describe('GenerationQueue', () => {
  it('one runs, maxQueue wait in order, the rest are refused; a waiter that leaves frees its place', async () => {
    const q = new GenerationQueue(2);
    const order: string[] = [];
    const a = q.enter()!;
    const b = q.enter()!;
    const c = q.enter()!;
    assert.equal(q.enter(), undefined, 'full: one running, two waiting');
    void b.ready.then(() => order.push('b'));
    void c.ready.then(() => order.push('c'));
    await a.ready;
    b.abandon(); // left while waiting
    a.abandon(); // a running turn is not ended by abandon
    assert.equal(q.waitingCount, 1);
    const d = q.enter();
    assert.ok(d, 'the place b left is free again');
    void d.ready.then(() => order.push('d'));
    a.done();
    await c.ready;
    assert.deepEqual(order, ['c'], 'c runs next; d waits for it');
    c.done();
    await d.ready;
    assert.deepEqual(order, ['c', 'd']);
  });
});
