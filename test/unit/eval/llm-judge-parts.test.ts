// The LLM judge's pieces without a server: reading verdict lines in the forms judges write them,
// rendering the template in one pass, the template and file checks, combining the two orders, the
// cache's folder and keys, Retry-After, exponential backoff, and the rate window.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import {
  DEFAULT_JUDGE_TEMPLATE,
  checkJudgeTemplate,
  instructionText,
  parseJudgeAnswer,
  readJudgePromptFile,
  renderJudgePrompt,
} from '../../../src/node/eval/judge-prompt';
import { JudgeCache, defaultJudgeCacheDir, judgeCacheKey } from '../../../src/node/eval/judge-cache';
import { combineOrders } from '../../../src/node/eval/llm-judge';
import { ChatClient, chatCompletionsUrl, retryAfterMs } from '../../../src/node/eval/llm-judge-http';
import { RequestLimiter } from '../../../src/node/eval/llm-judge-limit';
import { MockJudge, errorReply, prefersGood } from './llm-judge-mock';

const root = tempDir('llm-judge-parts');

describe('judge prompt', () => {
  it('reads the verdict from the forms judges write, the last verdict line winning', () => {
    const cases: [string, 'A' | 'B' | 'tie' | undefined][] = [
      ['A is clearer.\nWinner: A', 'A'],
      ['Reason.\n\n**Winner:** B\n', 'B'],
      ['Reason.\nWinner: tie', 'tie'],
      ['Reason.\nFinal verdict: [[B]]', 'B'],
      ['Both fine. [[C]]', 'tie'],
      ['The winner is Output (a).', 'A'],
      ['Reason.\nwinner: output b', 'B'],
      ['Reason.\nB', 'B'],
      ['Winner: A\nOn reflection the second is better.\nWinner: B', 'B'],
      ['Winner: B\n(Note: both were short.)', 'B'],
      ['Winner: A would be my first guess, but I cannot tell.', undefined],
      ['Winner: A or B', undefined],
      ['I prefer the first one.', undefined],
      ['', undefined],
    ];
    for (const [text, choice] of cases) assert.equal(parseJudgeAnswer(text).choice, choice, JSON.stringify(text));
    assert.deepEqual(parseJudgeAnswer('Short reason.\n\nWinner: A\n'), { choice: 'A', reason: 'Short reason.' });
    assert.deepEqual(parseJudgeAnswer('  no verdict here \n'), { choice: undefined, reason: 'no verdict here' });
  });

  it('the default template holds every placeholder, and rendering is one pass', () => {
    checkJudgeTemplate(DEFAULT_JUDGE_TEMPLATE);
    const out = renderJudgePrompt('{instruction}|{output_a}|{output_b}|{output_a}', 'I', 'says {output_b}', 'B$&');
    assert.equal(out, 'I|says {output_b}|B$&|says {output_b}');
  });

  it('docs/evaluation.md shows the built-in template as it is, to copy and edit', () => {
    const page = fs.readFileSync(path.resolve(__dirname, '../../../../docs/evaluation.md'), 'utf8');
    assert.ok(page.includes('```text\n' + DEFAULT_JUDGE_TEMPLATE + '```\n'), 'copy DEFAULT_JUDGE_TEMPLATE into docs/evaluation.md');
  });

  it('a template or file without a placeholder is refused, naming the file and the placeholder', () => {
    const file = path.join(root, 'judge.txt');
    fs.writeFileSync(file, 'Which is better? {instruction} {output_a}');
    assert.throws(
      () => readJudgePromptFile(file),
      (e: Error) => e.message.includes(file) && /lacks the placeholder \{output_b\}/.test(e.message),
    );
    assert.throws(() => readJudgePromptFile(path.join(root, 'missing.txt')), /judge prompt .*missing\.txt: ENOENT/);
    fs.writeFileSync(file, '{instruction}\nA: {output_a}\nB: {output_b}\n');
    assert.equal(readJudgePromptFile(file), '{instruction}\nA: {output_a}\nB: {output_b}\n');
  });

  it('a conversation is shown turn by turn; a single prompt as itself', () => {
    assert.equal(instructionText('hi'), 'hi');
    assert.equal(instructionText('hi', [{ role: 'user', content: 'hi' }]), 'hi');
    const convo = instructionText('how?', [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'how?' },
    ]);
    assert.equal(convo, '[system]\nBe brief.\n\n[user]\nhow?');
  });
});

describe('combining the two orders', () => {
  const o = (first: 'policy' | 'reference', preferred: 'policy' | 'reference' | 'tie') => ({ first, preferred, reason: '' });
  it('win and loss need both orders to agree; disagreement and ties are ties', () => {
    assert.equal(combineOrders([o('policy', 'policy'), o('reference', 'policy')]).verdict, 'win');
    assert.equal(combineOrders([o('policy', 'reference'), o('reference', 'reference')]).verdict, 'loss');
    assert.equal(combineOrders([o('policy', 'policy'), o('reference', 'reference')]).verdict, 'tie');
    assert.equal(combineOrders([o('policy', 'policy'), o('reference', 'tie')]).verdict, 'tie');
    assert.equal(combineOrders([]).verdict, 'tie');
  });
});

describe('judge cache', () => {
  it('lives in $XDG_CACHE_HOME/dpo-studio/judge, else ~/.cache/dpo-studio/judge', () => {
    assert.equal(defaultJudgeCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }, 'linux'), path.join('/x/cache', 'dpo-studio', 'judge'));
    assert.equal(defaultJudgeCacheDir({ HOME: '/home/u' }, 'linux'), path.join('/home/u', '.cache', 'dpo-studio', 'judge'));
  });

  it('keys differ by URL, model, template and request; entries round-trip; a foreign entry is a miss', () => {
    const base = { url: 'http://h/v1/chat/completions', model: 'm', template: 't', request: { a: 1 } };
    const k = judgeCacheKey(base);
    assert.match(k, /^[0-9a-f]{64}$/);
    for (const change of [{ url: 'http://g/v1/chat/completions' }, { model: 'n' }, { template: 'u' }, { request: { a: 2 } }])
      assert.notEqual(judgeCacheKey({ ...base, ...change }), k, JSON.stringify(change));
    const cache = new JudgeCache(path.join(root, 'cache'));
    assert.equal(cache.get(k), undefined);
    cache.put(k, { content: 'Winner: A', model: 'm', created: '2026-01-01T00:00:00Z' });
    assert.deepEqual(cache.get(k), { content: 'Winner: A', model: 'm', created: '2026-01-01T00:00:00Z' });
    // An entry copied under another name answers nothing: the key inside must match.
    const other = judgeCacheKey({ ...base, model: 'n' });
    fs.mkdirSync(path.dirname(cache.fileOf(other)), { recursive: true });
    fs.copyFileSync(cache.fileOf(k), cache.fileOf(other));
    assert.equal(cache.get(other), undefined);
  });
});

describe('retry timing', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    assert.equal(retryAfterMs(h({ 'Retry-After': '2' })), 2000);
    assert.equal(retryAfterMs(h({ 'Retry-After': '0.5' })), 500);
    assert.equal(retryAfterMs(h({ 'Retry-After': new Date(10_000).toUTCString() }), 4000), 6000);
    assert.equal(retryAfterMs(h({ 'Retry-After': 'soon' })), undefined);
    assert.equal(retryAfterMs(h({})), undefined);
    assert.equal(retryAfterMs(h({ 'Retry-After': '2', 'retry-after-ms': '250' })), 250, 'the finer header wins');
    assert.equal(chatCompletionsUrl('http://h/v1/'), 'http://h/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h/v1/chat/completions'), 'http://h/v1/chat/completions');
  });

  it('backs off exponentially (jitter takes at most half) between retries of a 5xx', async () => {
    const mock = await new MockJudge().start();
    try {
      mock.reset((r, res, q, i) => (i < 3 ? errorReply(res, 502, 'bad gateway') : prefersGood(r, res, q, i)));
      for (const [random, waits] of [
        [0, ['0.1', '0.2', '0.4']],
        [0.999, ['0.2', '0.4', '0.8']],
      ] as const) {
        mock.reset(mock.handler);
        const log: string[] = [];
        const client = new ChatClient({
          endpoint: chatCompletionsUrl(mock.url),
          retry: { maxRetries: 5, backoffMs: 200, maxBackoffMs: 10_000, maxRetryAfterMs: 60_000, timeoutMs: 5000 },
          limiter: new RequestLimiter({ requestsPerMinute: 1000, concurrency: 1 }),
          log: (l) => log.push(l),
          random: () => random,
        });
        const answer = await client.complete({
          model: 'm',
          messages: [{ role: 'user', content: '## Output A\nGOOD\n\n## Output B\nx\n\nExplain' }],
          temperature: 0,
          max_tokens: 5,
        });
        assert.equal(answer.attempts, 4);
        assert.deepEqual(
          log.map((l) => /in (\d\.\d) s$/.exec(l)![1]),
          waits,
        );
      }
    } finally {
      await mock.close();
    }
  });
});

describe('request limiter', () => {
  it('starts at most the rate in any window, and holds at most `concurrency` slots', async () => {
    // 400 a minute over a 300 ms window: 2 starts per window.
    const limiter = new RequestLimiter({ requestsPerMinute: 400, concurrency: 2, windowMs: 300 });
    const t0 = Date.now();
    const starts: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const release = await limiter.acquire();
        starts.push(Date.now() - t0);
        release();
      }),
    );
    starts.sort((a, b) => a - b);
    assert.ok(starts[1] < 100, `the first two start at once: ${starts}`);
    assert.ok(starts[2] >= 290 && starts[3] >= 290, `the next two wait for the window: ${starts}`);

    const one = new RequestLimiter({ requestsPerMinute: 1e6, concurrency: 1 });
    const held = await one.acquire();
    const ac = new AbortController();
    const waiting = one.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    held();
    held(); // a second release frees nothing more
    const again = await one.acquire();
    let third = false;
    void one.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(third, false, 'one slot, still held');
    again();
  });
});
