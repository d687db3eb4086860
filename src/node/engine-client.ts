// The one client of an engine process (embedded or PyTorch), shared by the CLI and the extension
// host: spawn, the protocol-version handshake, typed requests, pending requests failed with the
// engine's last stderr lines when it exits, and every stderr line kept in the run's log.txt. Plain
// Node (no vscode); the extension wraps it as a Disposable in src/extension/engine-client.ts.
import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { EngineEvents, EngineRequests, Event, EventType, PROTOCOL_VERSION, RequestType, parseEngineMessage, requestLine } from '../protocol';
import { EngineCommand } from './engine-command';
import { RunFolder } from './run-folder';

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

export interface Disposable {
  dispose(): void;
}

/** A minimal typed event emitter: listeners in order, each removable. */
export class Emitter<T> {
  private listeners: ((value: T) => void)[] = [];
  readonly event = (listener: (value: T) => void): Disposable => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

const KEEP_LINES = 30;
/** Events both engines send only after the run has checked, locked and claimed its folder. */
const CLAIMED_EVENTS = new Set<string>(['run/didLog', 'run/didProgress', 'run/didLogMetrics', 'run/didWarn', 'run/didCheckpoint', 'run/didFinish']);
/** Stderr lines kept from before the run folder is known (torch imports, warnings), then written to its log. */
const KEEP_EARLY = 500;
/** After the process exits, how long to wait for its pipes to drain (a grandchild may hold them open). */
const DRAIN_MS = 1000;

export class EngineProcess {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { type: RequestType; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ring: string[] = [];
  private early: string[] = [];
  private runLog: RunFolder | undefined;
  private exitSeen: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly eventEmitter = new Emitter<Event>();
  private readonly exitEmitter = new Emitter<EngineExit>();
  readonly onEvent = this.eventEmitter.event;
  readonly onExit = this.exitEmitter.event;
  /** Resolves with the handshake; rejects if the engine exits first or speaks another version. */
  readonly ready: Promise<EngineEvents['engine/didStart']>;
  /** Set once the process has gone (and its pipes drained). */
  exited: EngineExit | undefined;
  /** The run folder whose log.txt receives the engine's stderr, once the run has claimed it. */
  runDir: string | undefined;
  /** The folder a started run will write, until its first event says it has claimed it. */
  private claimedBy: string | undefined;

  constructor(private readonly launch: EngineLaunch) {
    const { command, args, env, engine } = launch.command;
    launch.log(`starting the ${engine} engine: ${command} ${args.join(' ')}`);
    this.ready = new Promise((resolve, reject) => {
      const sub = this.onEvent((e) => {
        if (e.type !== 'engine/didStart') return;
        sub.dispose();
        const p = e.params as EngineEvents['engine/didStart'];
        if (p.protocolVersion !== PROTOCOL_VERSION) {
          reject(new Error(`the engine speaks protocol ${p.protocolVersion}, this program ${PROTOCOL_VERSION}: rebuild (npm run build) or update the engine`));
          this.kill();
        } else resolve(p);
      });
      this.onExit((x) => reject(new Error(`the engine exited before its handshake (${describeExit(x)}). ${lastLinesText(x.lastLines)}`)));
    });
    this.ready.catch(() => undefined); // observed by callers; avoid unhandled rejections
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    // A write to a dead engine fails with EPIPE on stdin: the exit handler reports it, not a crash.
    this.child.stdin!.on('error', (err) => this.remember(`stdin: ${err.message}`));
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => this.onStderr(line));
    this.child.on('error', (err) => {
      this.remember(`failed to start ${command}: ${err.message}`);
      launch.log(`the ${engine} engine failed to start: ${err.message}`);
      // A spawn failure may never fire 'exit'.
      if (this.child.pid === undefined) this.finish(null, null);
    });
    this.child.on('exit', (code, signal) => {
      this.exitSeen = { code, signal };
      setTimeout(() => this.finish(code, signal), DRAIN_MS).unref();
    });
    this.child.on('close', (code, signal) => this.finish(this.exitSeen?.code ?? code, this.exitSeen?.signal ?? signal));
  }

  /** The last stderr lines (and bad stdout lines), oldest first. */
  lastLines(): string[] {
    return [...this.ring];
  }

  /** From now on every stderr line (and those seen before) goes to `dir`/log.txt too. */
  setRunDir(dir: string): void {
    if (this.runDir === dir) return;
    this.runDir = dir;
    try {
      this.runLog = new RunFolder(dir);
    } catch (err) {
      this.launch.log(`cannot keep the engine's stderr in ${dir}: ${(err as Error).message}`);
      return;
    }
    const early = this.early;
    this.early = [];
    for (const line of early) this.appendRunLog(line);
  }

  private appendRunLog(line: string): void {
    if (!this.runLog) {
      this.early.push(line);
      if (this.early.length > KEEP_EARLY) this.early.shift();
      return;
    }
    try {
      this.runLog.log(`[engine stderr] ${line}`);
    } catch (err) {
      // A full disk or a removed folder must not end the client; the line is still in the ring.
      this.launch.log(`cannot write ${this.runLog.file('log')}: ${(err as Error).message}`);
      this.runLog = undefined;
    }
  }

  private onStderr(line: string): void {
    if (!line.trim()) return; // progress bars' carriage returns split into empty lines
    this.remember(line);
    this.appendRunLog(line);
    this.launch.log(`[engine] ${line}`);
  }

  private remember(line: string): void {
    this.ring.push(line);
    if (this.ring.length > KEEP_LINES) this.ring.shift();
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = { code, signal, lastLines: this.lastLines() };
    const why = `(${describeExit(this.exited)}). ${lastLinesText(this.exited.lastLines)}`;
    for (const p of this.pending.values()) p.reject(new Error(`the engine exited before answering ${p.type} ${why}`));
    this.pending.clear();
    this.exitEmitter.fire(this.exited);
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
      if (!m.ok) return p.reject(new Error(m.error));
      const runDir = (m.result as { runDir?: unknown } | null)?.runDir;
      if ((p.type === 'run/start' || p.type === 'run/resume') && typeof runDir === 'string') this.claimedBy = runDir;
      return p.resolve(m.result);
    }
    if (m.type === 'run/didStart') this.claimedBy = m.params.runDir;
    // Lines go to log.txt only once the run owns its folder: written earlier, log.txt would make a
    // new folder "hold other files" for the engine's own start check (a multi-process run's ranks
    // print while rank 0 decides), and a refused start would write into another run's log.
    else if (this.claimedBy !== undefined && CLAIMED_EVENTS.has(m.type)) this.setRunDir(this.claimedBy);
    try {
      this.eventEmitter.fire(m);
    } catch (err) {
      // A display bug (the progress line's RangeError of issue #25) must not end the client mid-run.
      this.launch.log(`a handler of ${m.type} failed: ${(err as Error).stack ?? err}`);
    }
  }

  request<T extends RequestType>(type: T, params: EngineRequests[T]['params']): Promise<EngineRequests[T]['result']> {
    if (this.exited) return Promise.reject(new Error(`the engine is not running (${describeExit(this.exited)}). ${lastLinesText(this.exited.lastLines)}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { type, resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(requestLine(id, type, params));
    });
  }

  /** Resolves with the first event of a type from now on. */
  next<T extends EventType>(type: T): Promise<Extract<Event, { type: T }>> {
    return new Promise((resolve) => {
      const sub = this.onEvent((e) => {
        if (!isEvent(e, type)) return;
        sub.dispose();
        resolve(e);
      });
    });
  }

  /** Ends the engine's input: it finishes what it does and exits on its own. */
  closeInput(): void {
    this.child.stdin!.end();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited && this.exitSeen === undefined) this.child.kill(signal);
  }

  dispose(): void {
    this.kill();
    this.eventEmitter.dispose();
    this.exitEmitter.dispose();
  }
}

export function describeExit(x: { code: number | null; signal: NodeJS.Signals | null }): string {
  if (x.signal) return `killed by ${x.signal}`;
  return x.code === null ? 'did not start' : `exit code ${x.code}`;
}

/** The engine's last lines for a message, or a sentence saying there were none (never an empty "Last lines:"). */
export function lastLinesText(lines: string[], count = 8): string {
  const kept = lines.filter((l) => l.trim() !== '').slice(-count);
  return kept.length ? `Last lines:\n${kept.join('\n')}` : 'The engine wrote nothing to stderr.';
}

export function isEvent<T extends EventType>(e: Event, type: T): e is Extract<Event, { type: T }> {
  return e.type === type;
}
