// The engine process over stdio, as the extension host drives it: handshake, malformed input,
// a run to completion, a graceful stop with a checkpoint, and SIGTERM.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { makePairs } from '../helpers/runs';
import { EngineMessage, PROTOCOL_VERSION, parseEngineMessage, requestLine } from '../../../src/protocol';
import { resolveThreads } from '../../../src/engine/wasm-threads';

const MAIN = path.resolve(__dirname, '../../../src/engine/main.js');
const root = tempDir('engine');
const model = tinyModel(path.join(root, 'model'), { layers: 1, dModel: 32, heads: 2, maxPositions: 64 });
const data = makePairs(path.join(root, 'pairs.jsonl'), 24);

class Engine {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: EngineMessage[] = [];
  readonly stderr: string[] = [];
  private waiters: { pred: (m: EngineMessage) => boolean; resolve: (m: EngineMessage) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor() {
    this.child = spawn(process.execPath, [MAIN, '--backend', 'wasm'], { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const parsed = parseEngineMessage(line);
      assert.ok(parsed.ok, `engine wrote a line that is not a protocol message: ${line}`);
      this.messages.push(parsed.value);
      this.waiters = this.waiters.filter((w) => (w.pred(parsed.value) ? (w.resolve(parsed.value), false) : true));
    });
    this.child.stderr.on('data', (d) => this.stderr.push(String(d)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first message (already received or future) that matches. */
  wait(pred: (m: EngineMessage) => boolean): Promise<EngineMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  event(type: string) {
    return this.wait((m) => m.kind === 'event' && m.type === type) as Promise<Extract<EngineMessage, { kind: 'event' }>>;
  }

  reply(id: number) {
    return this.wait((m) => m.kind === 'reply' && m.id === id) as Promise<Extract<EngineMessage, { kind: 'reply' }>>;
  }

  send(line: string) {
    this.child.stdin.write(line);
  }
}

const engines: Engine[] = [];
const start = () => {
  const e = new Engine();
  engines.push(e);
  return e;
};
const config = (name: string, extra: Record<string, unknown> = {}) => ({
  model,
  data,
  output_dir: path.join(root, name),
  batch_size: 2,
  learning_rate: 1e-3,
  max_steps: 4,
  eval_fraction: 0,
  warmup_ratio: 0,
  ...extra,
});

describe('engine process', () => {
  after(() => engines.forEach((e) => e.child.kill('SIGKILL')));
  let engine: Engine;
  before(() => {
    engine = start();
  });

  it('starts with a handshake naming the protocol version and the backend', async () => {
    const hello = await engine.event('engine/didStart');
    assert.equal((hello.params as { protocolVersion: number }).protocolVersion, PROTOCOL_VERSION);
    assert.equal((hello.params as { backend: { name: string } }).backend.name, 'wasm');
    // Every core by default, and the device string says how many threads run.
    const n = resolveThreads(undefined);
    assert.equal((hello.params as { device: string }).device, `wasm (${n === 1 ? '1 thread' : `${n} threads`})`);
    assert.equal(engine.messages[0], hello, 'nothing before the handshake');
  });

  it('answers malformed input with an error and keeps running', async () => {
    engine.send('this is not json\n');
    const rejected = await engine.event('engine/didReject');
    assert.match((rejected.params as { message: string }).message, /^not JSON/);
    engine.send('{"kind":"request","id":7,"type":"run/explode","params":{}}\n');
    const r = await engine.reply(7);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /unknown request type "run\/explode"/);
    engine.send(requestLine(8, 'run/start', { mode: 'dpo', config: { ...config('bad'), beta: -2, loss_type: 'nope' } }));
    const bad = await engine.reply(8);
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /2 invalid field/);
    assert.match(!bad.ok ? bad.error : '', /beta: must be > 0/);
    assert.match(!bad.ok ? bad.error : '', /loss_type: must be equal to one of the allowed values/);
    // The thread pool is made at start-up: a run asking for another count is told how to get it.
    const other = resolveThreads(undefined) === 1 ? 2 : 1;
    engine.send(requestLine(9, 'run/start', { mode: 'dpo', config: { ...config('threads'), threads: other } }));
    const threads = await engine.reply(9);
    assert.equal(threads.ok, false);
    assert.match(
      !threads.ok ? threads.error : '',
      new RegExp(`^threads: the engine runs wasm on \\d+ thread\\(s\\); start the engine with --threads ${other}`),
    );
    assert.equal(engine.child.exitCode, null);
  });

  it('runs to completion, streaming progress and TRL-named metrics', async () => {
    engine.send(requestLine(10, 'run/start', { mode: 'dpo', config: config('complete') }));
    const r = await engine.reply(10);
    assert.ok(r.ok, JSON.stringify(r));
    const done = await engine.event('run/didFinish');
    const p = done.params as { reason: string; step: number; finalDir: string };
    assert.equal(p.reason, 'completed');
    assert.equal(p.step, 4);
    assert.ok(fs.existsSync(path.join(p.finalDir, 'model.safetensors')));
    const metrics = engine.messages.filter((m) => m.kind === 'event' && m.type === 'run/didLogMetrics');
    assert.equal(metrics.length, 4);
    assert.ok(engine.messages.some((m) => m.kind === 'event' && m.type === 'run/didProgress'));
  });

  it('stop: finishes the step, writes a checkpoint, reports "stopped"; resume continues it', async () => {
    engine.send(requestLine(20, 'run/start', { mode: 'dpo', config: config('stopped', { max_steps: 200 }) }));
    await engine.reply(20);
    await engine.wait((m) => m.kind === 'event' && m.type === 'run/didLogMetrics' && (m.params as { record: { step: number } }).record.step >= 2);
    engine.send(requestLine(21, 'run/stop', {}));
    const stopping = await engine.reply(21);
    assert.deepEqual(stopping.ok && stopping.result, { stopping: true });
    const done = await engine.wait((m) => m.kind === 'event' && m.type === 'run/didFinish' && (m.params as { runDir: string }).runDir.endsWith('stopped'));
    const p = (done as { params: unknown }).params as { reason: string; step: number };
    assert.equal(p.reason, 'stopped');
    assert.ok(p.step < 200);
    assert.ok(fs.existsSync(path.join(root, 'stopped', 'checkpoints', `step-${p.step}`, 'trainer_state.json')));
    engine.send(requestLine(22, 'run/resume', { runDir: path.join(root, 'stopped') }));
    assert.ok((await engine.reply(22)).ok);
    engine.send(requestLine(23, 'run/stop', {}));
    const again = await engine.wait((m) => m.kind === 'event' && m.type === 'run/didFinish' && m !== done);
    assert.ok(((again as { params: unknown }).params as { step: number }).step > p.step, 'the resumed run went on from the checkpoint');
  });

  it('SIGTERM during a run: checkpoint, then exit 0', async () => {
    const e = start();
    await e.event('engine/didStart');
    e.send(requestLine(1, 'run/start', { mode: 'dpo', config: config('sigterm', { max_steps: 500 }) }));
    await e.wait((m) => m.kind === 'event' && m.type === 'run/didLogMetrics');
    e.child.kill('SIGTERM');
    assert.equal(await e.exited, 0);
    const finish = e.messages.find((m) => m.kind === 'event' && m.type === 'run/didFinish');
    assert.equal((finish?.params as { reason: string }).reason, 'stopped');
    const ckpts = fs.readdirSync(path.join(root, 'sigterm', 'checkpoints')).filter((n) => n.startsWith('step-'));
    assert.equal(ckpts.length, 1);
  });

  it('probe: load, stream a generation token by token, score a response', async () => {
    engine.send(requestLine(40, 'probe/load', { policyDir: model, referenceDir: model }));
    const loaded = await engine.reply(40);
    assert.ok(loaded.ok, JSON.stringify(loaded));
    assert.deepEqual(loaded.ok && { ...(loaded.result as object), parameters: 0 }, {
      architecture: 'GPT2LMHeadModel',
      parameters: 0,
      hasReference: true,
      chatTemplate: true,
    });
    engine.send(requestLine(41, 'probe/generate', { which: 'policy', prompt: 'Hi', chat: false, sampling: { maxNewTokens: 6, temperature: 1, seed: 2 } }));
    const done = await engine.reply(41);
    assert.ok(done.ok);
    const result = (done as { result: { text: string; tokens: number } }).result;
    const streamed = engine.messages
      .filter((m) => m.kind === 'event' && m.type === 'probe/didToken' && (m.params as { requestId: number }).requestId === 41)
      .map((m) => (m as { params: { text: string } }).params.text)
      .join('');
    assert.equal(streamed, result.text, 'the streamed pieces add up to the answer');
    engine.send(requestLine(42, 'probe/score', { prompt: 'Hi', chat: false, response: ' there', beta: 0.1 }));
    const scored = await engine.reply(42);
    const score = (scored as { result: { tokens: { text: string; reward: number }[]; reward: number } }).result;
    assert.equal(score.tokens.map((t) => t.text).join(''), ' there');
    assert.equal(score.reward, 0, 'policy == reference: zero reward');
    engine.send(
      JSON.stringify({ kind: 'request', id: 43, type: 'probe/generate', params: { which: 'reference', prompt: 'Hi', chat: 'yes', sampling: {} } }) + '\n',
    );
    const bad = await engine.reply(43);
    assert.equal(bad.ok, false);
  });

  it('shutdown request exits 0', async () => {
    engine.send(requestLine(30, 'engine/shutdown', {}));
    assert.equal(await engine.exited, 0);
  });
});
