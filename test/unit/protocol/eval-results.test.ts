// The guards of the evaluation folder's files: a good line and summary pass; each bad field is named.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseEvalResultLine, parseEvalSummary } from '../../../src/protocol';

const line = {
  prompt_index: 0,
  prompt: 'hi',
  model: 'policy',
  sample: 1,
  seed: 4,
  text: 'yo',
  tokens: 2,
  token_ids: [121, 111],
  finish_reason: 'length',
  policy_logp: -3.5,
  reference_logp: -4,
  reward: 0.3,
  verdicts: { 'reward-model': { verdict: 'win', margin: 0.2 }, 'llm:m': { verdict: 'tie', orders: [{ first: 'policy', preferred: 'tie', reason: '' }] } },
};

const judge = {
  kind: 'reward-model',
  independent: true,
  source: '/rm',
  wins: 1,
  ties: 0,
  losses: 0,
  win_rate: 1,
  win_rate_ci: [0.2, 1],
  mean_length_policy: 2,
  mean_length_reference: 3,
};
const summary = {
  version: 1,
  created: '2026-12-03T00:00:00Z',
  engine: 'tfjs',
  policy: '/p',
  reference: '/r',
  prompts: 1,
  samples: 1,
  seed: 0,
  max_new_tokens: 8,
  temperature: 1,
  kl: 0.5,
  kl_ci: [0.1, 0.9],
  kl_exact_sampler: true,
  judges: { 'reward-model': judge },
  models: { policy: { answers: 1, mean_length: 2, mean_reward: 0.3, mean_reward_ci: [0.3, 0.3] }, reference: { answers: 1, mean_length: 3 } },
};

describe('evaluation folder guards', () => {
  it('accept what dpo eval writes', () => {
    assert.ok(parseEvalResultLine(line).ok);
    assert.ok(parseEvalResultLine({ ...line, verdicts: undefined, reward: undefined, token_ids: undefined }).ok);
    assert.ok(parseEvalSummary(summary).ok);
  });

  it('name the bad field of a line', () => {
    const err = (v: unknown) => {
      const r = parseEvalResultLine(v);
      return r.ok ? 'ok' : r.error;
    };
    assert.match(err({ ...line, model: 'tuned' }), /^results line: model must be "policy" or "reference", got "tuned"/);
    assert.match(err({ ...line, policy_logp: null }), /policy_logp must be a number/);
    assert.match(err({ ...line, token_ids: [1, -2] }), /token_ids must be a list of token ids/);
    assert.match(err({ ...line, verdicts: { x: { verdict: 'draw' } } }), /verdicts\.x: verdict: verdict must be "win", "tie" or "loss"/);
    assert.match(err([]), /must be a JSON object/);
  });

  it('name the bad field of a summary, down to a judge and a model', () => {
    const err = (v: unknown) => {
      const r = parseEvalSummary(v);
      return r.ok ? 'ok' : r.error;
    };
    assert.match(err({ ...summary, kl_ci: [1, 0] }), /summary: kl_ci must be an interval \[low, high\]/);
    assert.match(err({ ...summary, judges: { j: { ...judge, win_rate_ci: [0] } } }), /summary: judges\.j: win_rate_ci must be an interval/);
    assert.match(err({ ...summary, models: { policy: summary.models.policy } }), /models must be an object with "policy" and "reference"/);
    assert.match(
      err({ ...summary, models: { ...summary.models, reference: { answers: -1, mean_length: 1 } } }),
      /summary: models\.reference: answers must be an integer >= 0/,
    );
    assert.match(err({ ...summary, version: 2 }), /version must be 1/);
  });
});
