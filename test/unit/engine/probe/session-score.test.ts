// The probe session's scoring as dpo eval uses it: probe/generate's ids scored as they are (EOS
// included), `messages` rendered through the chat template, as for generate.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { tempDir, tinyModel, useTestBackend } from '../../helpers/fixtures';
import { ProbeSession } from '../../../../src/engine/probe/session';
import { loadTokenizer } from '../../../../src/engine/tokenizer/tokenizer';

const root = tempDir('session-score');

describe('ProbeSession.score', () => {
  before(useTestBackend);

  it('scores responseIds as sampled, where the decoded text would encode to other tokens', async () => {
    const policy = tinyModel(path.join(root, 'p'), { seed: 3 });
    const reference = tinyModel(path.join(root, 'r'), { seed: 4 });
    const s = new ProbeSession();
    s.load(policy, reference);
    const tok = loadTokenizer(policy);
    // A lone byte 0xC3 is not UTF-8: it decodes to U+FFFD, which encodes as 3 other bytes.
    const lone = [0xc3];
    const text = tok.decode(lone);
    assert.notDeepEqual(tok.encode(text, false), lone);
    const byIds = await s.score('hi', false, text, 1, undefined, lone);
    const byText = await s.score('hi', false, text, 1);
    assert.equal(byIds.tokens.length, 1);
    assert.equal(byText.tokens.length, 3);
    // EOS as the last id is scored too: the sum grows by its (negative) log-prob.
    const withEos = await s.score('hi', false, text, 1, undefined, [...lone, tok.eosId!]);
    assert.equal(withEos.tokens.length, 2);
    assert.ok(Math.abs(withEos.policyLogp - (byIds.policyLogp + withEos.tokens[1].policyLogp)) < 1e-9);
    await assert.rejects(s.score('hi', false, '', 1, undefined, [100_000]), /responseIds holds 100000, outside the models' vocabulary of 259/);
    s.dispose();
  });

  it('generate reports its ids (EOS included); messages replace the one user turn, as in generate', async () => {
    const policy = tinyModel(path.join(root, 'p2'), { seed: 5 });
    const s = new ProbeSession();
    s.load(policy, policy);
    const g = await s.generate(1, 'policy', 'hi', false, { maxNewTokens: 5, temperature: 1, seed: 1 }, () => undefined);
    assert.equal(g.ids.length, g.reason === 'eos' ? g.tokens + 1 : g.tokens);
    const messages = [
      { role: 'system' as const, content: 'be brief' },
      { role: 'user' as const, content: 'hi' },
    ];
    const conv = await s.score('hi', true, 'ok', 1, messages);
    const single = await s.score('hi', true, 'ok', 1);
    const again = await s.score('ignored', true, 'ok', 1, messages);
    assert.notEqual(conv.policyLogp, single.policyLogp); // the system turn is in the prompt
    assert.equal(again.policyLogp, conv.policyLogp); // with messages, `prompt` is not used
    s.dispose();
  });
});
