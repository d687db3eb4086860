// The LLM judge against a real OpenAI-compatible server: `dpo serve` on a tiny model (embedded
// engine, wasm), behind a TCP proxy that counts requests and drops the first connection. One
// generation at a time and no queue, so the second order meets dpo serve's own 429 + Retry-After.
// A tiny model's answer names no winner: both orders are unparsed ties. A re-run asks nothing.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { ModelServer } from '../../../src/node/serve/server';
import { engineCommandFor } from '../../../src/node/engine-command';
import { resolveServedModel } from '../../../src/node/serve/model-folder';
import { createLlmJudge } from '../../../src/node/eval/llm-judge';
import { LlmJudgeOptions, PairToJudge } from '../../../src/node/eval/judge';

const KEY = 'serve-judge-key-42';
const root = tempDir('llm-judge-serve');
const modelDir = tinyModel(path.join(root, 'tiny-judge'), { maxPositions: 1024 });

/** Forwards to `target`; counts chat requests; destroys the first `drop` connections on their first bytes. */
class Proxy {
  requests = 0;
  connections = 0;
  url = '';
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(target: URL, drop: number) {
    this.server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      client.on('data', (d: Buffer) => (this.requests += d.toString('latin1').match(/POST \/v1\/chat\/completions/g)?.length ?? 0));
      if (++this.connections <= drop) {
        client.once('data', () => client.destroy());
        return;
      }
      const upstream = net.connect(Number(target.port), target.hostname);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/v1`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let server: ModelServer;
let proxy: Proxy;

const pair: PairToJudge = { promptIndex: 0, sample: 0, prompt: 'Name a colour.', policy: 'Blue.', reference: 'I like turtles.' };
const pair2: PairToJudge = { promptIndex: 1, sample: 0, prompt: 'Count to three.', policy: '1 2 3', reference: 'three' };

function judgeWith(o: Partial<LlmJudgeOptions>, log: string[]) {
  return createLlmJudge({
    url: proxy.url,
    model: 'tiny-judge',
    apiKey: KEY,
    apiKeySource: 'the environment variable TINY_KEY',
    maxTokens: 8,
    backoffMs: 50,
    log: (l) => log.push(l),
    ...o,
  });
}

describe('LLM judge against dpo serve (tiny model)', () => {
  before(async () => {
    server = await ModelServer.start({
      model: resolveServedModel(modelDir),
      command: engineCommandFor('tfjs', { backend: 'wasm' }),
      port: 0,
      apiKey: KEY,
      maxQueue: 0,
      log: () => undefined,
    });
    proxy = await new Proxy(new URL(server.url), 1).start();
  });
  after(async () => {
    await proxy?.close();
    await server?.close();
  });

  it('judges two pairs in both orders through a dropped connection and 429s, gives unparsed ties, then answers a re-run from the cache', async () => {
    const cacheDir = path.join(root, 'cache');
    const log: string[] = [];
    // Two pairs at once: four requests meet one generation at a time and no queue, so some get a 429.
    // Retries enough for a slow, shared machine: one generation at a time may take seconds there.
    const judge = judgeWith({ cacheDir, maxRetries: 10, backoffMs: 300 }, log);
    const verdicts = await Promise.all([judge.judge(pair), judge.judge(pair2)]);
    for (const v of verdicts) {
      assert.equal(v.verdict, 'tie');
      assert.deepEqual(
        v.orders!.map((o) => o.first),
        ['policy', 'reference'],
      );
    }
    for (const o of verdicts.flatMap((v) => v.orders!)) {
      assert.equal(o.preferred, 'tie');
      assert.equal(o.unparsed, true, `a tiny model names no winner: ${JSON.stringify(o.reason)}`);
      assert.equal(o.cached, undefined);
    }
    assert.ok(
      log.some((l) => /failed \((UND_ERR_SOCKET|ECONNRESET|EPIPE)\).*retry 1 of 10/.test(l)),
      `the dropped connection was retried:\n${log.join('\n')}`,
    );
    const waits429 = log.flatMap((l) => /answered 429.*server is busy.*retry \d+ of 10 in (\d+\.\d) s$/.exec(l)?.[1] ?? []).map(Number);
    assert.ok(waits429.length > 0, `dpo serve answered 429 and it was retried:\n${log.join('\n')}`);
    assert.ok(
      waits429.every((w) => w >= 1),
      `each 429 waited at least its Retry-After (1 s): ${waits429}`,
    );
    const retries = log.length;
    assert.equal(proxy.requests, 4 + retries, 'one request per order, plus one per retry logged');

    const before = proxy.requests;
    const again = await Promise.all([pair, pair2].map((p) => judgeWith({ cacheDir }, []).judge(p)));
    assert.equal(proxy.requests, before, 'a re-run makes no request');
    assert.deepEqual(
      again.flatMap((v) => v.orders!.map((o) => [o.reason, o.cached])),
      verdicts.flatMap((v) => v.orders!.map((o) => [o.reason, true])),
    );
    for (const f of fs.readdirSync(cacheDir, { recursive: true }) as string[]) {
      const file = path.join(cacheDir, f);
      if (fs.statSync(file).isFile()) assert.ok(!fs.readFileSync(file, 'utf8').includes(KEY), `${file} holds the key`);
    }
  });

  it("dpo serve's 401 for a wrong key is not retried and names the key's source", async () => {
    const before = proxy.requests;
    const err = await judgeWith({ apiKey: 'wrong-key', cacheDir: path.join(root, 'cache-401'), concurrency: 1 }, [])
      .judge(pair)
      .catch((e: Error) => e);
    assert.match(String(err), /chat\/completions answered 401.*TINY_KEY/);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(proxy.requests - before <= 2, `no retries: ${proxy.requests - before} requests`);
  });
});
