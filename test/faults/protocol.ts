// Generated bad protocol messages for the fault suite, all sent to one engine process: each must get
// an error (a failed reply or engine/didReject) within the limit, and the engine must stay up.
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Outcome } from './harness';
import type { Fixture } from './inputs';

const MAIN = path.resolve(__dirname, '../../src/engine/main.js');

export function badMessages(f: Fixture): [string, string | Buffer][] {
  const req = (type: string, params: unknown, id = 7) => JSON.stringify({ kind: 'request', id, type, params });
  const gen = (sampling: unknown) => req('probe/generate', { which: 'policy', prompt: 'hi', chat: false, sampling });
  return [
    ['empty object', '{}'],
    ['not JSON', '{"kind": "request", '],
    ['a JSON array', '[1]'],
    ['null', 'null'],
    ['a number', '7'],
    ['a string', '"request"'],
    ['kind "reply"', '{"kind": "reply", "id": 1, "ok": true}'],
    ['no id', '{"kind": "request", "type": "run/stop", "params": {}}'],
    ['id a string', '{"kind": "request", "id": "1", "type": "run/stop"}'],
    ['id 1.5', '{"kind": "request", "id": 1.5, "type": "run/stop"}'],
    ['type a number', '{"kind": "request", "id": 1, "type": 5}'],
    ...['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'run/explode', ''].map(
      (t) => [`type ${JSON.stringify(t)}`, req(t, {})] as [string, string],
    ),
    ['run/start without params', req('run/start', undefined)],
    ['run/start params an array', req('run/start', [])],
    ['run/start mode "rlhf"', req('run/start', { mode: 'rlhf', config: {} })],
    ['run/start config a string', req('run/start', { mode: 'dpo', config: 'x' })],
    ['run/start config without model', req('run/start', { mode: 'dpo', config: { data: f.data } })],
    [
      'run/start learning_rate 1e400',
      `{"kind": "request", "id": 7, "type": "run/start", "params": {"mode": "dpo", "config": {"model": ${JSON.stringify(f.model)}, "data": ${JSON.stringify(f.data)}, "learning_rate": 1e400}}}`,
    ],
    ['run/start output_dir = the model folder', req('run/start', { mode: 'dpo', config: { model: f.model, data: f.data, output_dir: f.model } })],
    [
      'run/start model folder missing',
      req('run/start', { mode: 'dpo', config: { model: '/nonexistent/m', data: f.data, output_dir: path.join(f.root, 'runs', 'proto-missing') } }),
    ],
    ['run/resume runDir a number', req('run/resume', { runDir: 5 })],
    ['run/resume of a folder that is not a run', req('run/resume', { runDir: f.root + '/nowhere' })],
    ['probe/load policyDir missing', req('probe/load', {})],
    ['probe/load of a missing folder', req('probe/load', { policyDir: '/nonexistent' })],
    ['probe/generate before probe/load', gen({})],
    ['probe/generate which "both"', req('probe/generate', { which: 'both', prompt: 'hi', chat: false, sampling: {} })],
    ['probe/generate stop "x"', gen({ stop: 'x' })],
    ['probe/generate topK -1', gen({ topK: -1 })],
    ['probe/generate temperature -1', gen({ temperature: -1 })],
    ['probe/generate topP 2', gen({ topP: 2 })],
    ['probe/generate maxNewTokens 0', gen({ maxNewTokens: 0 })],
    ['probe/generate sampling null', gen(null)],
    ['probe/generate unknown sampling key', gen({ beam: 4 })],
    ['probe/score beta "x"', req('probe/score', { prompt: 'a', chat: false, response: 'b', beta: 'x' })],
    ['probe/score before probe/load', req('probe/score', { prompt: 'a', chat: false, response: 'b', beta: 0.1 })],
    ['probe/score chat "yes"', req('probe/score', { prompt: 'a', chat: 'yes', response: 'b', beta: 0.1 })],
    ['100,000-deep JSON', `{"kind": "request", "id": 7, "type": "run/stop", "params": ${'['.repeat(100000)}${']'.repeat(100000)}}`],
    ['a 1,000,000-element params array', req('run/start', new Array(1_000_000).fill(0))],
    ['a 20 MB line', req('run/stop', { pad: 'x'.repeat(20 * 1024 * 1024) })],
    ['a 300 MB line', `{"kind": "request", "id": 7, "type": "run/stop", "params": {"pad": "${'x'.repeat(300 * 1024 * 1024)}"}}`],
    ['invalid UTF-8 bytes', Buffer.concat([Buffer.from('{"kind": "request", "id": 7, "type": "'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')])],
  ];
}

/** Sends each message and waits for its error; the engine must answer a final ping and exit 0. */
export async function protocolCases(f: Fixture, record: (o: Outcome) => void): Promise<void> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [MAIN, '--backend', 'wasm'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let exited = false;
  child.on('exit', () => (exited = true));
  const lines: string[] = [];
  let wake = () => {};
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    wake();
  });
  const next = (ms: number) =>
    new Promise<string | undefined>((resolve) => {
      if (lines.length) return resolve(lines.shift());
      const t = setTimeout(() => resolve(undefined), ms);
      wake = () => {
        clearTimeout(t);
        resolve(lines.shift());
      };
    });
  await next(30_000); // engine/didStart
  for (const [name, text] of badMessages(f)) {
    const started = Date.now();
    child.stdin.write(Buffer.isBuffer(text) ? Buffer.concat([text, Buffer.from('\n')]) : text + '\n');
    // Read until an error (failed reply, didReject, or a started run's didFail) or a success.
    let error: string | undefined;
    let accepted: string | undefined;
    while (error === undefined && accepted === undefined) {
      const answer = await next(60_000);
      if (answer === undefined) break;
      const m = JSON.parse(answer) as { kind: string; ok?: boolean; error?: string; type?: string; params?: { message?: string } };
      if (m.kind === 'reply') {
        if (m.ok === false) error = m.error;
        else if (!text.includes('"run/start"')) accepted = answer; // a started run reports its end as an event
      } else if (m.type === 'engine/didReject' || m.type === 'run/didFail') error = m.params?.message;
      else if (m.type === 'run/didFinish') accepted = answer;
    }
    while (await next(300)); // the didReject that follows a failed reply, progress events
    const seconds = (Date.now() - started) / 1000;
    const base = { group: 'protocol messages', name, seconds };
    if (exited) {
      record({ ...base, verdict: 'crash', detail: 'the engine exited' });
      return;
    }
    if (error === undefined && accepted === undefined) record({ ...base, verdict: 'hang', detail: 'no answer in 60 s' });
    else record({ ...base, verdict: error ? 'clear' : 'accepted', detail: (error ?? accepted ?? '').slice(0, 200) });
  }
  child.stdin.write(JSON.stringify({ kind: 'request', id: 99, type: 'engine/shutdown', params: {} }) + '\n');
  const code = await new Promise<number | null>((resolve) => (exited ? resolve(0) : child.on('exit', resolve)));
  record({
    group: 'protocol messages',
    name: 'engine still serves, then shuts down cleanly',
    seconds: 0,
    verdict: code === 0 ? 'ok' : 'crash',
    detail: `exit ${code}`,
  });
}
