// The probe's shared colour scale, its printed ends, and the finish reasons in words.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { heat, sharedScale, signed } from '../../../webview/probe/scale';
import { finishText } from '../../../webview/probe/finish';

const score = (rewards: number[]) => ({
  tokens: rewards.map((reward) => ({ text: 't', policyLogp: 0, referenceLogp: 0, reward })),
  policyLogp: 0,
  referenceLogp: 0,
  reward: rewards.reduce((a, b) => a + b, 0),
});

describe('probe heatmap scale', () => {
  it('is one scale over both answers: the largest |reward| of either, rounded up to two digits', () => {
    assert.equal(sharedScale([score([0.01, -0.02]), score([0.3, -0.0437])]), 0.3);
    assert.equal(sharedScale([score([0.01]), score([-0.0437])]), 0.044);
    assert.equal(sharedScale([score([0.0123]), undefined]), 0.013);
    assert.equal(sharedScale([undefined, undefined]), 0);
    assert.equal(sharedScale([score([0, 0])]), 0);
  });

  it('colours a token by |reward| / scale, so equal rewards look the same in both columns', () => {
    assert.equal(heat(0.3, 0.3), 'color-mix(in srgb, var(--vscode-charts-green) 70%, transparent)');
    assert.equal(heat(-0.15, 0.3), 'color-mix(in srgb, var(--vscode-charts-red) 35%, transparent)');
    assert.equal(heat(0.5, 0.3), 'color-mix(in srgb, var(--vscode-charts-green) 70%, transparent)', 'clipped at the scale');
    assert.equal(heat(0.1, 0), 'color-mix(in srgb, var(--vscode-charts-green) 0%, transparent)');
  });

  it('prints the scale ends signed, with a true minus sign', () => {
    assert.deepEqual([signed(0.3), signed(-0.044), signed(0), signed(1.25), signed(-0.00012)], ['+0.3', '−0.044', '0', '+1.25', '−1.20e-4']);
  });
});

describe('probe finish reasons', () => {
  it('says that the max-tokens limit was reached, with the limit', () => {
    assert.equal(finishText('length', 24), 'reached max tokens (24)');
    assert.equal(finishText('eos', 24), 'ended: end-of-sequence token');
    assert.equal(finishText('context'), "reached the model's context length");
    assert.equal(finishText(undefined), '');
    assert.equal(finishText('other'), 'ended: other');
  });
});
