import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { IMPLAUSIBLE_MEAN_LOGP, implausibleNote, plausibility } from '../../../webview/probe/plausible';
import type { ProbeScore } from '../../../src/protocol/messages';

function score(policy: number[], reference: number[]): ProbeScore {
  const tokens = policy.map((p, i) => ({ text: 'x', policyLogp: p, referenceLogp: reference[i], reward: 0.1 * (p - reference[i]) }));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { tokens, policyLogp: sum(policy), referenceLogp: sum(reference), reward: 0.1 * (sum(policy) - sum(reference)) };
}

describe('probe: scores of text neither model would write', () => {
  it('uses the mean log-probability per token of the likelier model, against a 1% chance per token', () => {
    assert.ok(Math.abs(IMPLAUSIBLE_MEAN_LOGP - Math.log(0.01)) < 1e-12);
    const p = plausibility(score([-1, -2, -3], [-6, -6, -6]))!;
    assert.equal(p.policy, -2);
    assert.equal(p.reference, -6);
    assert.equal(p.plausible, true, 'one model would write it');
    assert.equal(plausibility(score([-5, -5], [-6, -4.7]))!.plausible, false, 'a random model: about uniform over 257 bytes is -5.55');
    assert.equal(plausibility(score([], [])), undefined, 'an empty answer says nothing');
  });

  it('says so beside the margin only when an answer is implausible to both models', () => {
    const good = score([-0.5, -1], [-0.7, -1.2]);
    const bad = score([-5.5, -5.6], [-5.4, -5.7]);
    assert.equal(
      implausibleNote([
        { name: 'policy answer', score: good },
        { name: 'reference answer', score: good },
      ]),
      '',
    );
    const one = implausibleNote([
      { name: 'policy answer', score: good },
      { name: 'reference answer', score: bad },
    ]);
    assert.match(one, /Neither model would plausibly write this answer \(mean log p per token reference answer: -5\.55 policy, -5\.55 reference/);
    assert.match(
      implausibleNote([
        { name: 'a', score: bad },
        { name: 'b', score: bad },
      ]),
      /these answers/,
    );
  });
});
