// The LLM judge against a scripted endpoint (llm-judge-mock.ts): both orders asked and mapped back,
// position-biased and unparseable judges giving ties, retries after 429 (Retry-After), 5xx, a dropped
// connection and a timeout, no retry on 401 (a clear error without the key), the cache (a re-run asks
// nothing; the key is in no file), bounded concurrency, and cancelling.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';
import { IDENTICAL_REASON, createLlmJudge } from '../../../src/node/eval/llm-judge';
import { LlmJudgeOptions, PairToJudge } from '../../../src/node/eval/judge';
import { JudgeRequestError } from '../../../src/node/eval/llm-judge-http';
import { MockJudge, chatReply, errorReply, outputsOf, prefersGood } from './llm-judge-mock';

const KEY = 'sk-test-0123456789abcdef';
const root = tempDir('llm-judge');
let mock: MockJudge;
let cacheN = 0;

const pair = (policy: string, reference: string, promptIndex = 0): PairToJudge => ({
  promptIndex,
  sample: 0,
  prompt: `Say something ${promptIndex}`,
  policy,
  reference,
});

function judgeWith(o: Partial<LlmJudgeOptions> = {}, log: string[] = []) {
  return createLlmJudge({
    url: mock.url,
    model: 'judge-1',
    apiKey: KEY,
    apiKeySource: 'the environment variable JUDGE_KEY',
    cacheDir: path.join(root, `cache-${cacheN++}`),
    backoffMs: 20,
    log: (l) => log.push(l),
    ...o,
  });
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((e) => (e.isFile() ? [path.join(e.parentPath, e.name)] : []));
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('LLM judge over HTTP', () => {
  before(async () => {
    mock = await new MockJudge().start();
  });
  after(() => mock.close());

  it('asks in both orders, swaps the outputs, and maps each answer back to the models', async () => {
    mock.reset();
    const judge = judgeWith();
    assert.equal(judge.name, 'llm:judge-1');
    const win = await judge.judge(pair('GOOD answer', 'poor answer'));
    assert.equal(win.verdict, 'win');
    assert.equal(mock.requests.length, 2);
    const seen = mock.requests.map(outputsOf).sort((x, y) => x.a.localeCompare(y.a));
    assert.deepEqual(seen, [
      { a: 'GOOD answer', b: 'poor answer' },
      { a: 'poor answer', b: 'GOOD answer' },
    ]);
    assert.deepEqual(
      win.orders!.map((o) => [o.first, o.preferred]),
      [
        ['policy', 'policy'],
        ['reference', 'policy'],
      ],
    );
    assert.match(win.orders![0].reason, /is better/);
    assert.doesNotMatch(win.orders![0].reason, /Winner:/, 'the verdict line is not part of the reason');
    const r = mock.requests[0];
    assert.equal(r.authorization, `Bearer ${KEY}`);
    assert.equal(r.body.temperature, 0);
    assert.equal(r.body.max_tokens, 300);
    assert.equal(r.body.model, 'judge-1');
    assert.match(r.body.messages[0].content, /Say something 0/);

    assert.equal((await judge.judge(pair('poor', 'GOOD', 1))).verdict, 'loss');
    assert.equal((await judge.judge(pair('GOOD one', 'GOOD two', 2))).verdict, 'tie');
  });

  it('a judge that always picks the first output, or says nothing parseable, gives ties (raw answer kept)', async () => {
    mock.reset((_r, res) => chatReply(res, 'Winner: A'));
    const biased = await judgeWith().judge(pair('GOOD', 'poor'));
    assert.equal(biased.verdict, 'tie');
    assert.deepEqual(biased.orders!.map((o) => o.preferred).sort(), ['policy', 'reference']);

    mock.reset((_r, res) => chatReply(res, '  zq#x the model rambles  \n'));
    const unparsed = await judgeWith().judge(pair('GOOD', 'poor'));
    assert.equal(unparsed.verdict, 'tie');
    for (const o of unparsed.orders!) {
      assert.equal(o.preferred, 'tie');
      assert.equal(o.unparsed, true);
      assert.equal(o.reason, 'zq#x the model rambles');
    }
    mock.reset((_r, res) => chatReply(res, null));
    assert.equal((await judgeWith().judge(pair('GOOD', 'poor'))).verdict, 'tie', 'a null content is an empty answer');
  });

  it('retries a 429 after its Retry-After, and a 503, then answers', async () => {
    mock.reset((r, res, _q, i) => (i === 0 ? errorReply(res, 429, 'Rate limit reached', { 'Retry-After': '1' }) : prefersGood(r, res, _q, i)));
    const log: string[] = [];
    const t0 = Date.now();
    const v = await judgeWith({}, log).judge(pair('GOOD', 'poor'));
    assert.equal(v.verdict, 'win');
    assert.equal(mock.requests.length, 3, 'two orders and one retry');
    assert.ok(Date.now() - t0 >= 1000, `waited for Retry-After: ${Date.now() - t0} ms`);
    assert.equal(log.length, 1);
    assert.match(log[0], /answered 429.*Rate limit reached; retry 1 of 5 in 1\.\d s/);

    mock.reset((r, res, _q, i) => (i < 2 ? errorReply(res, 503, 'overloaded') : prefersGood(r, res, _q, i)));
    assert.equal((await judgeWith().judge(pair('GOOD', 'poor'))).verdict, 'win');
    assert.equal(mock.requests.length, 4);
  });

  it('retries a dropped connection and a request that times out', async () => {
    mock.reset((r, res, req, i) => (i === 0 ? req.socket.destroy() : prefersGood(r, res, req, i)));
    const log: string[] = [];
    assert.equal((await judgeWith({}, log).judge(pair('GOOD', 'poor'))).verdict, 'win');
    assert.equal(mock.requests.length, 3);
    assert.match(log[0], /failed \((UND_ERR_SOCKET|ECONNRESET)\)/);

    // The first request is never answered: the 300 ms limit ends it and the retry is answered.
    mock.reset((r, res, req, i) => i > 0 && prefersGood(r, res, req, i));
    const log2: string[] = [];
    assert.equal((await judgeWith({ timeoutMs: 300, concurrency: 1 }, log2).judge(pair('GOOD', 'poor'))).verdict, 'win');
    assert.match(log2[0], /did not answer within 0\.3 s/);
    // 3 requests, unless a loaded machine let an answered one run past 300 ms too.
    assert.equal(mock.requests.length, 2 + log2.length);
  });

  it('a 401 is not retried: the error names the URL, the status and where the key came from, never the key', async () => {
    mock.reset((_r, res) => errorReply(res, 401, `Incorrect API key provided: ${KEY}`));
    const err = await judgeWith()
      .judge(pair('GOOD', 'poor'))
      .then(
        () => assert.fail('a 401 must fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof JudgeRequestError);
    assert.equal(err.status, 401);
    assert.match(err.message, new RegExp(`${mock.url}/chat/completions answered 401`));
    assert.match(err.message, /JUDGE_KEY/);
    assert.ok(!err.message.includes(KEY), err.message);
    await settle();
    assert.equal(mock.requests.length, 2, 'one request per order, no retry');

    mock.reset(mock.handler);
    await assert.rejects(judgeWith({ concurrency: 1 }).judge(pair('GOOD', 'poor')), /answered 401/);
    await settle();
    assert.equal(mock.requests.length, 1, 'the other order, still waiting for its turn, is cancelled');

    const noKey = await judgeWith({ apiKey: undefined })
      .judge(pair('GOOD', 'poor'))
      .catch((e: Error) => e);
    assert.match(String(noKey), /No key was sent/);
  });

  it('gives up after maxRetries and on a Retry-After too long to wait, saying why', async () => {
    mock.reset((_r, res) => errorReply(res, 500, 'boom'));
    const e1 = await judgeWith({ maxRetries: 2, concurrency: 1 })
      .judge(pair('GOOD', 'poor'))
      .catch((e: Error) => e);
    assert.match(String(e1), /answered 500.*boom; gave up after 3 attempts/);

    mock.reset((_r, res) => errorReply(res, 429, 'quota', { 'Retry-After': '3600' }));
    const t0 = Date.now();
    const e2 = await judgeWith()
      .judge(pair('GOOD', 'poor'))
      .catch((e: Error) => e);
    assert.match(String(e2), /asks to wait 3600 s/);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('a re-run is answered from the cache (zero requests); the key is in no cache file; a corrupt entry is asked again', async () => {
    mock.reset();
    const cacheDir = path.join(root, 'shared-cache');
    const pairs = [pair('GOOD a', 'poor a', 0), pair('poor b', 'GOOD b', 1)];
    const first = await Promise.all(pairs.map((p) => judgeWith({ cacheDir }).judge(p)));
    assert.equal(mock.requests.length, 4);
    mock.reset();
    const again = await Promise.all(pairs.map((p) => judgeWith({ cacheDir }).judge(p)));
    assert.equal(mock.requests.length, 0, 'no request on a re-run');
    assert.deepEqual(
      again.map((v) => v.verdict),
      first.map((v) => v.verdict),
    );
    assert.ok(again.every((v) => v.orders!.every((o) => o.cached === true)));
    assert.ok(first.every((v) => v.orders!.every((o) => o.cached === undefined)));

    const files = filesUnder(cacheDir);
    assert.equal(files.length, 4);
    for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(KEY), `${f} holds the key`);

    fs.writeFileSync(files[0], '{"version": 1, "key": "trunc');
    await Promise.all(pairs.map((p) => judgeWith({ cacheDir }).judge(p)));
    assert.equal(mock.requests.length, 1, 'only the corrupt entry is asked again');
    assert.doesNotThrow(() => JSON.parse(fs.readFileSync(files[0], 'utf8')), 'and rewritten whole');

    mock.reset();
    await judgeWith({ cacheDir, model: 'judge-2' }).judge(pairs[0]);
    await judgeWith({ cacheDir, promptTemplate: 'Pick one.\n{instruction}\n## Output A\n{output_a}\n\n## Output B\n{output_b}\n\nExplain.' }).judge(pairs[0]);
    assert.equal(mock.requests.length, 4, 'another model or template is another question');
    await judgeWith({ cacheDir, noCache: true }).judge(pairs[0]);
    assert.equal(mock.requests.length, 6, 'noCache asks again');
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    mock.reset((r, res, req, i) => setTimeout(() => prefersGood(r, res, req, i), 80));
    const judge = judgeWith({ concurrency: 3 });
    const verdicts = await Promise.all([0, 1, 2, 3].map((i) => judge.judge(pair('GOOD', 'poor', i))));
    assert.ok(verdicts.every((v) => v.verdict === 'win'));
    assert.equal(mock.requests.length, 8);
    assert.equal(mock.maxInFlight, 3);
  });

  it('an AbortSignal ends a Retry-After wait and a request in flight', async () => {
    mock.reset((_r, res) => errorReply(res, 429, 'slow down', { 'Retry-After': '30' }));
    const t0 = Date.now();
    const waiting = judgeWith().judge(pair('GOOD', 'poor'), AbortSignal.timeout(200));
    await assert.rejects(waiting, (e: Error) => e.name === 'TimeoutError');
    assert.ok(Date.now() - t0 < 2000, `cancelled in ${Date.now() - t0} ms`);

    mock.reset(() => undefined); // never answers
    const ac = new AbortController();
    const inFlight = judgeWith().judge(pair('GOOD', 'poor'), ac.signal);
    setTimeout(() => ac.abort(new Error('user cancelled')), 100);
    await assert.rejects(inFlight, /user cancelled/);
  });

  it('a refused connection fails at once, naming the URL', async () => {
    // A port that was free a moment ago (fetch refuses well-known ports such as 9 outright).
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const t0 = Date.now();
    const e = await createLlmJudge({ url: `http://127.0.0.1:${port}/v1`, model: 'm', cacheDir: path.join(root, 'refused') })
      .judge(pair('a', 'b'))
      .catch((err: Error) => err);
    assert.match(String(e), new RegExp(`127\\.0\\.0\\.1:${port}/v1/chat/completions failed \\(ECONNREFUSED\\).*is the judge server running`));
    assert.ok(Date.now() - t0 < 2000);
  });

  it('identical answers are a tie without a request; a prompt file replaces the template', async () => {
    mock.reset();
    const same = await judgeWith().judge(pair('GOOD same', 'GOOD same'));
    assert.equal(same.verdict, 'tie');
    assert.deepEqual(
      same.orders!.map((o) => [o.first, o.preferred, o.reason]),
      [
        ['policy', 'tie', IDENTICAL_REASON],
        ['reference', 'tie', IDENTICAL_REASON],
      ],
    );
    assert.equal(mock.requests.length, 0);

    const file = path.join(root, 'my-judge.txt');
    fs.writeFileSync(file, 'CUSTOM JUDGE. Task: {instruction}\n\n## Output A\n{output_a}\n\n## Output B\n{output_b}\n\nExplain, then Winner: A|B|tie');
    assert.equal((await judgeWith({ promptFile: file }).judge(pair('GOOD', 'poor'))).verdict, 'win');
    assert.ok(mock.requests.every((r) => r.body.messages[0].content.startsWith('CUSTOM JUDGE. Task: Say something 0')));
    fs.writeFileSync(file, 'no placeholders');
    assert.throws(
      () => judgeWith({ promptFile: file }),
      (e: Error) => e.message.includes(file) && /\{instruction\}/.test(e.message),
    );
  });

  it('refuses bad options before any request', () => {
    assert.throws(() => createLlmJudge({ url: 'localhost:8000', model: 'm' }), /not a URL|must start with http/);
    assert.throws(() => createLlmJudge({ url: 'http://x/v1', model: ' ' }), /model name is empty/);
    assert.throws(
      () => createLlmJudge({ url: 'http://me:secret@x/v1', model: 'm' }),
      (e: Error) => /must not hold credentials/.test(e.message) && !e.message.includes('secret'),
    );
    assert.throws(
      () => createLlmJudge({ url: 'http://x/v1', model: 'm', promptTemplate: 'Which? {output_a} {output_b}' }),
      /lacks the placeholder \{instruction\}/,
    );
    assert.throws(() => createLlmJudge({ url: 'http://x/v1', model: 'm', concurrency: 0 }), /concurrency must be an integer ≥ 1/);
  });
});
