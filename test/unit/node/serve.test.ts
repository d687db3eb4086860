// `dpo serve`'s HTTP API against the embedded engine on a tiny model: models list, seeded chat and
// text completions, streams that concatenate to the non-streamed answer, stop strings, max_tokens,
// OpenAI-shaped 4xx errors, the bearer key, the bounded queue (429) and a client that disconnects.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { ModelServer } from '../../../src/node/serve/server';
import { engineCommandFor } from '../../../src/node/engine-command';
import { resolveServedModel } from '../../../src/node/serve/model-folder';

const KEY = 'test-key-123';
const root = tempDir('serve');
const modelDir = tinyModel(path.join(root, 'tiny-chat'), { maxPositions: 512 });
let server: ModelServer;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

function call(route: string, body?: unknown, o: { method?: string; key?: string | null; raw?: string; host?: string } = {}): Promise<Reply> {
  const url = new URL(server.url + route);
  const data = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const key = o.key === undefined ? KEY : o.key;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: o.method ?? (data === undefined ? 'GET' : 'POST'),
        headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}), ...(o.host ? { Host: o.host } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

type Choice = { text?: string; message?: { content: string }; delta?: { content?: string; role?: string }; finish_reason: string | null };
const choice = (r: Reply) => (r.json().choices as Choice[])[0];
const usageOf = (r: Reply) => r.json().usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
const answer = (r: Reply) => choice(r).message?.content ?? choice(r).text!;

/** The data: lines of an SSE body, parsed (the last must be [DONE]). */
function events(r: Reply): Record<string, unknown>[] {
  const lines = r.text.split('\n\n').filter((l) => l.trim());
  assert.equal(lines.at(-1), 'data: [DONE]', 'a stream ends with data: [DONE]');
  return lines.slice(0, -1).map((l) => {
    assert.ok(l.startsWith('data: '), l);
    return JSON.parse(l.slice(6)) as Record<string, unknown>;
  });
}
const streamed = (r: Reply) =>
  events(r)
    .flatMap((e) => e.choices as Choice[])
    .map((c) => c.delta?.content ?? c.text ?? '')
    .join('');

const CHAT = {
  model: 'tiny-chat',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hello there' },
  ],
};

describe('dpo serve on the embedded engine', () => {
  before(async () => {
    server = await ModelServer.start({
      model: resolveServedModel(modelDir),
      command: engineCommandFor('tfjs', { backend: 'wasm' }),
      port: 0,
      apiKey: KEY,
      maxQueue: 1,
      log: () => undefined,
    });
  });
  after(() => server?.close());

  it('lists the model by its folder name and prints a localhost URL', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const r = await call('/models');
    assert.equal(r.status, 200);
    assert.deepEqual(
      (r.json().data as { id: string }[]).map((m) => m.id),
      ['tiny-chat'],
    );
    assert.equal((await call('/models/tiny-chat')).json().id, 'tiny-chat');
    assert.equal((await call('/models/other')).status, 404);
  });

  it('a seeded chat completion and text completion give the same text twice, with usage', async () => {
    const chat = { ...CHAT, max_tokens: 12, seed: 7, temperature: 1 };
    const [a, b] = [await call('/chat/completions', chat), await call('/chat/completions', chat)];
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json().object, 'chat.completion');
    assert.equal(answer(a), answer(b));
    const other = await call('/chat/completions', { ...chat, seed: 8 });
    assert.notEqual(answer(other), answer(a), 'another seed samples another answer');
    const u = usageOf(a);
    assert.ok(u.prompt_tokens > 'Be brief.Hello there'.length, 'the chat template wraps the messages');
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);

    const text = { model: 'tiny-chat', prompt: 'abc', max_tokens: 12, seed: 3, temperature: 1 };
    const [c, d] = [await call('/completions', text), await call('/completions', text)];
    assert.equal(c.json().object, 'text_completion');
    assert.equal(answer(c), answer(d));
    assert.equal(usageOf(c).prompt_tokens, 3, 'one byte token per prompt character, no chat template');
  });

  it('a stream concatenates to the non-streamed answer for the same seed and ends with [DONE]', async () => {
    for (const [route, body] of [
      ['/chat/completions', { ...CHAT, max_tokens: 16, seed: 11, temperature: 1 }],
      ['/completions', { model: 'tiny-chat', prompt: 'The cat', max_tokens: 16, seed: 5, temperature: 1 }],
    ] as const) {
      const whole = await call(route, body);
      const s = await call(route, { ...body, stream: true, stream_options: { include_usage: true } });
      assert.equal(s.status, 200);
      assert.match(String(s.headers['content-type']), /^text\/event-stream/);
      const ev = events(s);
      assert.ok(ev.length >= 3, `several chunks, got ${ev.length}`);
      assert.equal(streamed(s), answer(whole), route);
      assert.equal(new Set(ev.map((e) => e.id)).size, 1, 'one id for every chunk');
      const last = ev.at(-2)!.choices as Choice[];
      assert.equal(last[0].finish_reason, choice(whole).finish_reason);
      assert.deepEqual(ev.at(-1)!.usage, usageOf(whole));
      if (route === '/chat/completions') assert.equal((ev[0].choices as Choice[])[0].delta?.role, 'assistant');
    }
  });

  it('stop strings end the answer before them (also streamed), finish_reason "stop"', async () => {
    const body = { model: 'tiny-chat', prompt: 'xyz', max_tokens: 40, seed: 9, temperature: 1 };
    const free = answer(await call('/completions', body));
    const at = [...free].findIndex((ch, i) => i >= 3 && ch !== '\ufffd');
    assert.ok(at > 0, `the sample has a character to stop at: ${JSON.stringify(free)}`);
    const stop = free.slice(at, at + 2);
    const expected = free.slice(0, free.indexOf(stop));
    for (const stops of [stop, ['never-there', stop]]) {
      const r = await call('/completions', { ...body, stop: stops });
      assert.equal(answer(r), expected);
      assert.equal(choice(r).finish_reason, 'stop');
      const s = await call('/completions', { ...body, stop: stops, stream: true });
      assert.equal(streamed(s), expected, 'held-back text never leaks the stop string');
    }
  });

  it('max_tokens ends the answer with finish_reason "length"', async () => {
    const r = await call('/completions', { model: 'tiny-chat', prompt: 'abc', max_tokens: 5, seed: 1, temperature: 1 });
    assert.equal(choice(r).finish_reason, 'length');
    assert.equal(usageOf(r).completion_tokens, 5);
  });

  it('bad requests are 400s in OpenAI error shape, naming the field', async () => {
    const cases: [string, unknown, string | null, RegExp][] = [
      ['/chat/completions', '{"model": ', null, /not valid JSON/],
      ['/chat/completions', [1, 2], null, /JSON object/],
      ['/chat/completions', { model: 'tiny-chat' }, 'messages', /messages is required/],
      ['/chat/completions', { model: 'tiny-chat', messages: 'hi' }, 'messages', /non-empty list/],
      ['/chat/completions', { model: 'tiny-chat', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /must be one of/],
      ['/chat/completions', { messages: CHAT.messages }, 'model', /model is required/],
      ['/chat/completions', { ...CHAT, model: 'gpt-4' }, 'model', /not served here/],
      ['/chat/completions', { ...CHAT, temperature: 'hot' }, 'temperature', /from 0 to 2/],
      ['/chat/completions', { ...CHAT, max_tokens: 0 }, 'max_tokens', /integer/],
      ['/chat/completions', { ...CHAT, n: 2 }, 'n', /must be 1/],
      ['/chat/completions', { ...CHAT, stream: 'yes' }, 'stream', /true or false/],
      ['/completions', { model: 'tiny-chat' }, 'prompt', /prompt is required/],
      ['/completions', { model: 'tiny-chat', prompt: 'a', stop: 5 }, 'stop', /string or a list/],
      ['/completions', { model: 'tiny-chat', prompt: [1, 2, 3] }, 'prompt', /must be a string/],
    ];
    for (const [route, body, param, message] of cases) {
      const r = await call(route, undefined, { raw: typeof body === 'string' ? body : JSON.stringify(body) });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      const e = r.json().error as { message: string; type: string; param: string | null; code: string | null };
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.param, param, JSON.stringify(body));
      assert.match(e.message, message);
    }
    assert.equal((await call('/nowhere')).status, 404);
    const wrongMethod = await call('/chat/completions', undefined, { method: 'GET' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
    const big = await call('/completions', undefined, { raw: JSON.stringify({ model: 'tiny-chat', prompt: 'x'.repeat(2 << 20) }) });
    assert.equal(big.status, 413);
    assert.equal((await call('/models')).status, 200, 'the server still answers');
  });

  it('401 without the key or with a wrong one', async () => {
    for (const key of [null, 'wrong-key']) {
      const r = await call('/chat/completions', { ...CHAT, max_tokens: 2 }, { key });
      assert.equal(r.status, 401);
      assert.equal((r.json().error as { code: string }).code, 'invalid_api_key');
    }
  });

  it('a request under another host name (DNS rebinding) is refused with 403; localhost names are served', async () => {
    const port = new URL(server.url).port;
    const forged = await call('/chat/completions', { ...CHAT, max_tokens: 2 }, { host: `attacker.example:${port}` });
    assert.equal(forged.status, 403);
    assert.equal((forged.json().error as { code: string }).code, 'host_not_allowed');
    assert.match((forged.json().error as { message: string }).message, /--allowed-host attacker\.example/);
    assert.equal((await call('/models', undefined, { host: 'attacker.example' })).status, 403, 'also without a port, also GET');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST'])
      assert.equal((await call('/models', undefined, { host })).status, 200, host);
  });

  it('one generation at a time: with the queue full a request gets 429 and Retry-After, the others finish', async () => {
    const long = { model: 'tiny-chat', prompt: 'a', max_tokens: 400, seed: 2, temperature: 1 };
    const started = new Promise<void>((resolve) => {
      const sub = server.engine.onEvent((e) => e.type === 'probe/didToken' && (sub.dispose(), resolve()));
    });
    const first = call('/completions', long);
    await started; // the first is generating
    const second = call('/completions', { ...long, max_tokens: 3 });
    while (server.waiting < 1) await new Promise((r) => setTimeout(r, 2)); // the second waits
    const third = await call('/completions', { ...long, max_tokens: 3 });
    assert.equal(third.status, 429, third.text);
    assert.equal(third.headers['retry-after'], '1');
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  });

  it('a client that disconnects mid-stream cancels its generation; the next request works', async () => {
    let tokens = 0;
    const sub = server.engine.onEvent((e) => e.type === 'probe/didToken' && tokens++);
    try {
      const maxTokens = 400;
      await new Promise<void>((resolve, reject) => {
        const req = http.request(server.url + '/completions', { method: 'POST', headers: { Authorization: `Bearer ${KEY}` } }, (res) => {
          res.once('data', () => {
            req.destroy(); // gone after the first chunk
            resolve();
          });
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.end(JSON.stringify({ model: 'tiny-chat', prompt: 'a', max_tokens: maxTokens, seed: 4, temperature: 1, stream: true }));
      });
      const next = await call('/completions', { model: 'tiny-chat', prompt: 'abc', max_tokens: 5, seed: 1, temperature: 1 });
      assert.equal(next.status, 200);
      assert.equal(usageOf(next).completion_tokens, 5);
      const cancelledTokens = tokens - 5;
      assert.ok(cancelledTokens < maxTokens / 2, `the cancelled generation stopped early (${cancelledTokens} of ${maxTokens} tokens)`);
    } finally {
      sub.dispose();
    }
  });
});
