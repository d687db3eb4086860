// Generated bad protocol messages for the fault suite, all sent to one engine process (either
// engine): each must get an error (a failed reply or engine/didReject) that names what is wrong,
// within the limit, and the engine must stay up. Any other error text counts as unclear.
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Outcome, escape } from './harness';
import { EngineUnderTest } from './engines';
import { judgeProtocol } from './judge';
import type { Fixture } from './inputs';

/**
 * [name, the line, what the error must name]. Fragments are engine-neutral: the field or value at
 * fault. null: a message an engine may accept or refuse (a value in a field no request reads); it must
 * answer and stay up.
 */
export function badMessages(f: Fixture, engine = 'tfjs'): [string, string | Buffer, RegExp | null][] {
  const req = (type: string, params: unknown, id = 7) => JSON.stringify({ kind: 'request', id, type, params });
  const gen = (sampling: unknown) => req('probe/generate', { which: 'policy', prompt: 'hi', chat: false, sampling });
  const raw = (id: string, type = 'run/stop', params = '{}') => `{"kind": "request", "id": ${id}, "type": "${type}", "params": ${params}}`;
  const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObjects = (n: number) => '{"a": '.repeat(n) + '1' + '}'.repeat(n);
  const notObject = /object/;
  const type = (t: string) => (t ? new RegExp(`type[^\\n]*${escape(t)}`) : /type/);
  return [
    ['empty object', '{}', /kind/],
    ['not JSON', '{"kind": "request", ', /JSON/i],
    ['a JSON array', '[1]', notObject],
    ['null', 'null', notObject],
    ['a number', '7', notObject],
    ['a string', '"request"', notObject],
    ['kind "reply"', '{"kind": "reply", "id": 1, "ok": true}', /kind/],
    ['no id', '{"kind": "request", "type": "run/stop", "params": {}}', /\bid\b/],
    ['id a string', '{"kind": "request", "id": "1", "type": "run/stop"}', /\bid\b/],
    ['id 1.5', '{"kind": "request", "id": 1.5, "type": "run/stop"}', /\bid\b/],
    // Issue #25: each of these ended the torch engine (OverflowError on the id).
    ['id 1e400', raw('1e400'), /\bid\b|JSON/],
    ['id NaN', raw('NaN'), /\bid\b|JSON/],
    ['id Infinity', raw('Infinity'), /\bid\b|JSON/],
    ['id -Infinity', raw('-Infinity'), /\bid\b|JSON/],
    // Valid by the contract (an integer), beyond what a double holds exactly: any answer, engine up.
    ['id 2^64', raw('18446744073709551616'), null],
    ['type a number', '{"kind": "request", "id": 1, "type": 5}', /type/],
    ...[
      'toString',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
      '__defineGetter__',
      'run/explode',
      '',
      '__class__',
      '__init__',
    ].map((t) => [`type ${JSON.stringify(t)}`, req(t, {}), type(t)] as [string, string, RegExp]),
    ['run/start without params', req('run/start', undefined), /params|mode/],
    ['run/start params an array', req('run/start', []), /params/],
    ['run/start mode "rlhf"', req('run/start', { mode: 'rlhf', config: {} }), /mode/],
    ['run/start config a string', req('run/start', { mode: 'dpo', config: 'x' }), /config/],
    ['run/start config without model', req('run/start', { mode: 'dpo', config: { data: f.data } }), /model/],
    [
      'run/start learning_rate 1e400',
      raw(
        '7',
        'run/start',
        `{"mode": "dpo", "config": {"model": ${JSON.stringify(f.model)}, "data": ${JSON.stringify(f.data)}, "output_dir": ${JSON.stringify(path.join(f.root, 'runs', `${engine}-proto-lr`))}, "learning_rate": 1e400}}`,
      ),
      /learning_rate/,
    ],
    ['probe/score beta 1e400', raw('7', 'probe/score', '{"prompt": "a", "chat": false, "response": "b", "beta": 1e400}'), /beta|probe\/load/],
    ['probe/score beta NaN', raw('7', 'probe/score', '{"prompt": "a", "chat": false, "response": "b", "beta": NaN}'), /beta|JSON|probe\/load/],
    ['run/stop with an out-of-range float in an unread field', raw('7', 'run/stop', '{"x": -1e999}'), null],
    [
      'run/start output_dir = the model folder',
      req('run/start', { mode: 'dpo', config: { model: f.model, data: f.data, output_dir: f.model } }),
      new RegExp(`${escape(f.model)}.*holds other files`),
    ],
    [
      'run/start model folder missing',
      req('run/start', { mode: 'dpo', config: { model: '/nonexistent/m', data: f.data, output_dir: path.join(f.root, 'runs', `${engine}-proto-missing`) } }),
      /\/nonexistent\/m/,
    ],
    ['run/resume runDir a number', req('run/resume', { runDir: 5 }), /runDir/],
    ['run/resume of a folder that is not a run', req('run/resume', { runDir: f.root + '/nowhere' }), new RegExp(`${escape(f.root)}/nowhere.*not a run`)],
    ['probe/load policyDir missing', req('probe/load', {}), /policyDir/],
    ['probe/load of a missing folder', req('probe/load', { policyDir: '/nonexistent' }), /\/nonexistent/],
    ['probe/generate before probe/load', gen({}), /probe\/load/],
    ['probe/generate which "both"', req('probe/generate', { which: 'both', prompt: 'hi', chat: false, sampling: {} }), /which/],
    ['probe/generate stop "x"', gen({ stop: 'x' }), /stop/],
    ['probe/generate topK -1', gen({ topK: -1 }), /topK/],
    ['probe/generate temperature -1', gen({ temperature: -1 }), /temperature/],
    ['probe/generate topP 2', gen({ topP: 2 }), /topP/],
    ['probe/generate maxNewTokens 0', gen({ maxNewTokens: 0 }), /maxNewTokens/],
    ['probe/generate sampling null', gen(null), /sampling/],
    ['probe/generate unknown sampling key', gen({ beam: 4 }), /beam/],
    ['probe/score beta "x"', req('probe/score', { prompt: 'a', chat: false, response: 'b', beta: 'x' }), /beta/],
    ['probe/score before probe/load', req('probe/score', { prompt: 'a', chat: false, response: 'b', beta: 0.1 }), /probe\/load/],
    ['probe/score chat "yes"', req('probe/score', { prompt: 'a', chat: 'yes', response: 'b', beta: 0.1 }), /chat/],
    ['arrays nested 10,000 deep', raw('7', 'run/stop', deepArrays(10_000)), /params|nest/i],
    ['arrays nested 100,000 deep', raw('7', 'run/stop', deepArrays(100_000)), /params|nest/i],
    ['objects nested 10,000 deep in an unread field', raw('7', 'run/stop', deepObjects(10_000)), null],
    ['a 1,000,000-element params array', req('run/start', new Array(1_000_000).fill(0)), /params/],
    ['a 20 MB line', req('run/stop', { pad: 'x'.repeat(20 * 1024 * 1024) }), /limit|too long|bytes/],
    ['a 300 MB line', `{"kind": "request", "id": 7, "type": "run/stop", "params": {"pad": "${'x'.repeat(300 * 1024 * 1024)}"}}`, /limit|too long|bytes/],
    [
      'invalid UTF-8 bytes',
      Buffer.concat([Buffer.from('{"kind": "request", "id": 7, "type": "'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]),
      /type|UTF-8/i,
    ],
  ];
}

/** One engine process and its stdout lines, read one at a time with a limit. */
function startEngine(engine: EngineUnderTest) {
  const cmd = engine.process();
  const child: ChildProcessWithoutNullStreams = spawn(cmd.command, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'], env: cmd.env });
  const state = { exited: false, code: null as number | null };
  const lines: string[] = [];
  let wake = () => {};
  child.on('exit', (code) => {
    state.exited = true;
    state.code = code;
    wake();
  });
  child.stdin.on('error', () => undefined); // EPIPE once the engine has gone: reported as a crash
  child.stderr.resume();
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    wake();
  });
  // One reader at a time; a reader that timed out must not take (and lose) a later line.
  const next = (ms: number) =>
    new Promise<string | undefined>((resolve) => {
      if (lines.length || state.exited) return resolve(lines.shift());
      const t = setTimeout(() => {
        wake = () => {};
        resolve(undefined);
      }, ms);
      wake = () => {
        wake = () => {};
        clearTimeout(t);
        resolve(lines.shift());
      };
    });
  return {
    child,
    state,
    next,
    send: (text: string | Buffer) => child.stdin.write(Buffer.isBuffer(text) ? Buffer.concat([text, Buffer.from('\n')]) : text + '\n'),
  };
}

/** Sends a valid run/stop with `id` and reads (skipping other lines) until its reply: is the engine still serving? */
async function answers(e: ReturnType<typeof startEngine>, id: number, limitMs: number): Promise<boolean> {
  e.send(JSON.stringify({ kind: 'request', id, type: 'run/stop', params: {} }));
  const deadline = Date.now() + limitMs;
  while (!e.state.exited && Date.now() < deadline) {
    const line = await e.next(deadline - Date.now());
    if (line === undefined) continue;
    try {
      const m = JSON.parse(line) as { kind?: string; id?: number };
      if (m.kind === 'reply' && m.id === id) return true;
    } catch {
      // a bad line is judged with the case that caused it
    }
  }
  return false;
}

/**
 * Sends each message and waits for its error; after a crash a fresh engine takes the next message
 * (so one crash does not hide the other cases). At the end the engine must shut down with exit 0.
 */
export async function protocolCases(f: Fixture, engine: EngineUnderTest, record: (o: Outcome) => void): Promise<void> {
  const group = 'protocol messages';
  const limit = 60 * engine.slow;
  const start = async () => {
    const e = startEngine(engine);
    const hello = await e.next(limit * 1000);
    if (hello?.includes('engine/didStart')) return e;
    record({
      group,
      name: 'engine start',
      seconds: 0,
      verdict: 'crash',
      detail: `no handshake: ${hello ?? (e.state.exited ? 'the engine exited' : 'nothing')}`,
    });
    e.child.kill('SIGKILL');
    return undefined;
  };
  let e = await start();
  let pings = 0;
  for (const [name, text, expected] of badMessages(f, engine.name)) {
    if (!e) return;
    const started = Date.now();
    e.send(text);
    // Read until an error (failed reply, didReject, or a started run's didFail) or a success.
    let error: string | undefined;
    let accepted: string | undefined;
    const startsRun = typeof text === 'string' && text.includes('"run/start"');
    while (error === undefined && accepted === undefined && !e.state.exited) {
      const answer = await e.next(limit * 1000);
      if (answer === undefined) break;
      let m: { kind?: string; ok?: boolean; error?: string; type?: string; params?: { message?: string } };
      try {
        m = JSON.parse(answer);
      } catch {
        error = `the engine wrote a line that is not JSON: ${answer.slice(0, 100)}`;
        break;
      }
      if (m.kind === 'reply') {
        if (m.ok === false) error = m.error ?? '';
        else if (!startsRun) accepted = answer; // a started run reports its end as an event
      } else if (m.type === 'engine/didReject' || m.type === 'run/didFail') error = m.params?.message ?? '';
      else if (m.type === 'run/didFinish') accepted = answer;
    }
    // The engine must still answer (a crash after its error reply, e.g. while writing didReject, counts).
    const alive = !e.state.exited && (await answers(e, 900_000 + ++pings, limit * 1000));
    record(
      judgeProtocol(
        { group, name, seconds: (Date.now() - started) / 1000 },
        { error, accepted, exited: e.state.exited || (!alive && (error !== undefined || accepted !== undefined)) },
        expected,
        limit,
      ),
    );
    if (!alive && !e.state.exited) e.child.kill('SIGKILL');
    if (!alive) e = await start(); // crashed or hung: a fresh engine, so that one failure does not hide the rest
  }
  if (!e) return;
  e.send(JSON.stringify({ kind: 'request', id: 99, type: 'engine/shutdown', params: {} }));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => {
      e!.child.kill('SIGKILL');
      resolve(null);
    }, limit * 1000);
    const done = (c: number | null) => {
      clearTimeout(t);
      resolve(c);
    };
    if (e!.state.exited) done(e!.state.code);
    else e!.child.on('exit', done);
  });
  record({ group, name: 'engine still serves, then shuts down cleanly', seconds: 0, verdict: code === 0 ? 'ok' : 'crash', detail: `exit ${code}` });
}
