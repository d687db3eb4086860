// One engine child process (the embedded Node engine or the PyTorch engine, never the extension
// host's thread) spoken to in the typed JSON-lines protocol. Every line from the child passes the protocol guard; anything else is reported, never
// acted on. Keeps the last stderr lines so a crash can be explained.
import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';
import * as vscode from 'vscode';
import { EngineCommand } from '../node/engine-command';
import { EngineEvents, EngineRequests, Event, EventType, PROTOCOL_VERSION, RequestType, parseEngineMessage, requestLine } from '../protocol';

export interface EngineLaunch {
  /** What to start (src/node/engine-command.ts). */
  command: EngineCommand;
  log: (line: string) => void;
}

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the engine wrote to stderr (and bad stdout lines), for error messages. */
  lastLines: string[];
}

const KEEP_LINES = 30;

export class EngineClient implements vscode.Disposable {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly lastLines: string[] = [];
  private readonly onEventEmitter = new vscode.EventEmitter<Event>();
  private readonly onExitEmitter = new vscode.EventEmitter<EngineExit>();
  readonly onEvent = this.onEventEmitter.event;
  readonly onExit = this.onExitEmitter.event;
  /** Resolves with the handshake; rejects if the engine exits first or speaks another version. */
  readonly ready: Promise<EngineEvents['engine/didStart']>;
  exited: EngineExit | undefined;

  constructor(private readonly launch: EngineLaunch) {
    const { command, args, env, engine } = launch.command;
    launch.log(`starting the ${engine} engine: ${command} ${args.join(' ')}`);
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.ready = new Promise((resolve, reject) => {
      const sub = this.onEvent((e) => {
        if (e.type !== 'engine/didStart') return;
        sub.dispose();
        const p = e.params as EngineEvents['engine/didStart'];
        if (p.protocolVersion !== PROTOCOL_VERSION)
          reject(new Error(`engine speaks protocol ${p.protocolVersion}, this extension ${PROTOCOL_VERSION}: rebuild the extension (npm run build)`));
        else resolve(p);
      });
      this.onExit((x) => reject(new Error(`the engine exited before its handshake (${describeExit(x)})`)));
    });
    this.ready.catch(() => undefined); // observed by callers; avoid unhandled rejections
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.remember(line);
      launch.log(`[engine] ${line}`);
    });
    this.child.on('error', (err) => {
      this.remember(`failed to start: ${err.message}`);
      launch.log(`engine failed to start: ${err.message}`);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal, lastLines: [...this.lastLines] };
      for (const p of this.pending.values()) p.reject(new Error(`the engine exited (${describeExit(this.exited)})`));
      this.pending.clear();
      this.onExitEmitter.fire(this.exited);
    });
  }

  private remember(line: string): void {
    this.lastLines.push(line);
    if (this.lastLines.length > KEEP_LINES) this.lastLines.shift();
  }

  private onLine(line: string): void {
    const parsed = parseEngineMessage(line);
    if (!parsed.ok) {
      this.remember(`malformed engine output: ${line.slice(0, 200)}`);
      this.launch.log(`ignored a malformed line from the engine (${parsed.error}): ${line.slice(0, 200)}`);
      return;
    }
    const m = parsed.value;
    if (m.kind === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return this.launch.log(`ignored a reply to unknown request ${m.id}`);
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
      return;
    }
    this.onEventEmitter.fire(m);
  }

  request<T extends RequestType>(type: T, params: EngineRequests[T]['params']): Promise<EngineRequests[T]['result']> {
    if (this.exited) return Promise.reject(new Error(`the engine is not running (${describeExit(this.exited)})`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(requestLine(id, type, params));
    });
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  dispose(): void {
    this.kill();
    this.onEventEmitter.dispose();
    this.onExitEmitter.dispose();
  }
}

export function describeExit(x: EngineExit): string {
  if (x.signal) return `killed by ${x.signal}`;
  return `exit code ${x.code}`;
}

export function isEvent<T extends EventType>(e: Event, type: T): e is Extract<Event, { type: T }> {
  return e.type === type;
}
