import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { warningParts } from '../../../webview/metrics/warning-text';

describe('metrics panel: a warning on one line, its advice on expand', () => {
  it('splits "<what happened>: <advice>" at the colon and keeps the numbers on the line', () => {
    const m =
      'logps/chosen (train, averaged over 10 logged steps) fell from -30.10 to -33.20: the policy is making the chosen responses less likely too, a known DPO failure (likelihood displacement). Consider a lower learning_rate (now 0.0005).';
    const { head, rest } = warningParts(m);
    assert.equal(head, 'logps/chosen (train, averaged over 10 logged steps) fell from -30.10 to -33.20');
    assert.match(rest, /^The policy is making the chosen responses less likely too/);
  });

  it('a message without that shape splits at its first sentence, or stays whole when short', () => {
    assert.deepEqual(warningParts('The loss is stuck at log 2. Check the learning rate.'), {
      head: 'The loss is stuck at log 2',
      rest: 'Check the learning rate.',
    });
    assert.deepEqual(warningParts('loss is NaN'), { head: 'loss is NaN', rest: '' });
    const long = 'x '.repeat(120).trim();
    const p = warningParts(long);
    assert.ok(p.head.endsWith('…') && p.head.length <= 161, p.head);
    assert.equal(p.rest, long, 'a long line keeps the whole message on expand');
  });
});
