// Runs a wasm kernel's work units on several threads (fused attention's and the GEMM's): node:worker_threads
// workers, each instantiating the same module on the one shared memory, take unit numbers from an
// Atomics counter while the calling thread does the same, then the caller blocks (Atomics.wait) until
// all are done. Node only (the engine's own process, where the main thread may block); never loaded
// in a webview. Not the kernels' math (kernels/*.ts, one unit per call).
import type { MessagePort, Worker } from 'node:worker_threads';

/** Slots of the control block (Int32Array over a SharedArrayBuffer). */
const GEN = 0; // bumped to hand out a job
const OPEN = 1; // 1 while the job's units may be claimed
const NEXT = 2; // next unit to claim
const DONE = 3; // units finished (or failed)
const IN_JOB = 4; // workers between joining a job and leaving it
const FAILED = 5; // a worker's unit threw: its message waits on that worker's port
const READY = 6; // workers that instantiated the module
const STOP = 7;
/** Job description (Float64Array): export (its index in the pool's list), units, work stride, argument count, where the work pointer is, then the arguments. */
const ARGS = 5;
const MAX_ARGS = 32;

/**
 * The worker's whole script, run with `eval` so that the engine bundle (dist/engine.js) needs no
 * separate file. Its protocol with `runUnits` below: join a job only while it is open (IN_JOB first,
 * then check OPEN and GEN, so the caller never rewrites a job's arguments under a worker), claim
 * units until none is left, report a failure on its port, leave.
 */
const WORKER_SCRIPT = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, job, index, port, names } = workerData;
const c = new Int32Array(control);
const a = new Float64Array(job);
let ex;
try {
  ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
} catch (err) {
  port.postMessage('could not instantiate the kernel: ' + String((err && err.stack) || err));
  Atomics.store(c, ${FAILED}, 1);
}
Atomics.add(c, ${READY}, 1);
Atomics.notify(c, ${READY});
let seen = 0;
while (ex && !Atomics.load(c, ${STOP})) {
  Atomics.wait(c, ${GEN}, seen);
  const gen = Atomics.load(c, ${GEN});
  seen = gen;
  Atomics.add(c, ${IN_JOB}, 1);
  if (Atomics.load(c, ${OPEN}) === 1 && Atomics.load(c, ${GEN}) === gen) {
    const fn = ex[names[a[0]]];
    const n = a[1];
    const args = Array.from(a.subarray(${ARGS}, ${ARGS} + a[3]));
    args[a[4]] += index * a[2];
    for (let u = Atomics.add(c, ${NEXT}, 1); u < n; u = Atomics.add(c, ${NEXT}, 1)) {
      try {
        fn(...args, u);
      } catch (err) {
        port.postMessage('worker ' + index + ', unit ' + u + ': ' + String((err && err.stack) || err));
        Atomics.store(c, ${FAILED}, 1);
      }
      if (Atomics.add(c, ${DONE}, 1) + 1 === n) Atomics.notify(c, ${DONE});
    }
  }
  if (Atomics.sub(c, ${IN_JOB}, 1) === 1) Atomics.notify(c, ${IN_JOB});
}
`;

/** What a pool runs and how its errors read: the exports units may call, the kernel's name, what avoids the threads. */
export interface PoolNames {
  exports: string[];
  what: string;
  avoid: string;
}

/** How long a wait may see no progress before the pool is declared broken: a unit takes well under a second at the shapes trained here. */
let stallMs = 60_000;

let onWorkers = 0;

/** Units the worker threads (not the calling thread) have run in this process: tests check that the workers took part. */
export function unitsRunOnWorkers(): number {
  return onWorkers;
}

/** For tests: a shorter stall limit. */
export function setAttentionStallMs(ms: number): void {
  stallMs = ms;
}

export class KernelThreads {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * 8));
  private readonly job = new Float64Array(new SharedArrayBuffer(8 * (ARGS + MAX_ARGS)));
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private broken: string | undefined;

  /** Starts threads − 1 workers on `module` and `memory` and waits until they are ready. */
  constructor(
    readonly threads: number,
    module: object,
    memory: object,
    private readonly names: PoolNames,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when threads are used, never in a webview
    const wt = require('node:worker_threads') as typeof import('node:worker_threads');
    for (let index = 1; index < threads; index++) {
      const { port1, port2 } = new wt.MessageChannel();
      const worker = new wt.Worker(WORKER_SCRIPT, {
        eval: true,
        workerData: { module, memory, control: this.control.buffer, job: this.job.buffer, index, port: port2, names: names.exports },
        transferList: [port2],
      });
      // The engine's exit must not wait for the pool: unref'd, and terminated by close().
      worker.unref();
      port1.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
    const deadline = Date.now() + stallMs;
    for (let ready = Atomics.load(this.control, READY); ready < threads - 1; ready = Atomics.load(this.control, READY)) {
      if (Date.now() > deadline) this.fail(`${ready} of ${threads - 1} ${names.what} worker threads started within ${stallMs / 1000} s`);
      Atomics.wait(this.control, READY, ready, 100);
    }
    if (Atomics.load(this.control, FAILED)) this.fail(this.messages());
  }

  /**
   * Runs units 0..n−1 of export `fn` (one of the pool's names) with `args` then the unit number; argument
   * `workArg` is the work-area pointer, advanced by `workStride` bytes per thread. Returns when every
   * unit is done; throws (with the worker's message) if one failed, or if no unit finished for
   * stallMs (a worker that died mid-unit), after which this pool refuses further jobs.
   */
  runUnits(kernel: object, fn: string, n: number, args: number[], workArg: number, workStride: number): void {
    if (this.broken) throw new Error(this.broken);
    const which = this.names.exports.indexOf(fn);
    if (which < 0) throw new Error(`${this.names.what} threads: no export ${fn}`);
    if (args.length > MAX_ARGS) throw new Error(`${this.names.what} threads: ${args.length} arguments, at most ${MAX_ARGS}`);
    const run = (kernel as Record<string, (...args: number[]) => void>)[fn];
    const c = this.control;
    this.job.set([which, n, workStride, args.length, workArg, ...args]);
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, FAILED, 0);
    Atomics.store(c, OPEN, 1);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    let mine: unknown;
    let ran = 0;
    try {
      for (let u = Atomics.add(c, NEXT, 1); u < n; u = Atomics.add(c, NEXT, 1)) {
        run(...args, u);
        Atomics.add(c, DONE, 1);
        ran++;
      }
    } catch (err) {
      mine = err;
      Atomics.store(c, NEXT, n); // nobody claims more; the units already claimed still finish
    }
    if (mine === undefined) this.waitFor(DONE, (d) => d >= n, 'finished its units');
    Atomics.store(c, OPEN, 0);
    this.waitFor(IN_JOB, (x) => x === 0, 'left the job');
    if (mine !== undefined) throw mine;
    onWorkers += n - ran;
    if (Atomics.load(c, FAILED)) throw new Error(`${this.names.what} failed on a worker thread: ${this.messages()}`);
  }

  /** Blocks until slot's value passes `ok`, in slices, failing when it stops changing for stallMs. */
  private waitFor(slot: number, ok: (value: number) => boolean, what: string): void {
    let last = Atomics.load(this.control, slot);
    let since = Date.now();
    while (!ok(last)) {
      Atomics.wait(this.control, slot, last, 200);
      const now = Atomics.load(this.control, slot);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > stallMs) {
        this.fail(`a ${this.names.what} worker thread has not ${what} for ${stallMs / 1000} s (it may have died)`);
      }
    }
  }

  private messages(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the constructor
    const { receiveMessageOnPort } = require('node:worker_threads') as typeof import('node:worker_threads');
    const texts: string[] = [];
    for (const port of this.ports) for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) texts.push(String(m.message));
    return texts.join('; ') || 'no message';
  }

  private fail(reason: string): never {
    this.broken = `${this.names.what}'s worker threads: ${reason}; run with ${this.names.avoid} to avoid them`;
    this.close();
    throw new Error(this.broken);
  }

  /** Stops the workers (also done by the process's exit, as they are unref'd). */
  close(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.workers.length = 0;
  }
}

/** Fused attention's pool: kernels/attention.ts's forward and backward units. */
export const ATTENTION_POOL: PoolNames = { exports: ['forward', 'backward'], what: 'fused attention', avoid: '--threads 1 (or DPO_FUSED_ATTENTION=0)' };

export class AttentionThreads extends KernelThreads {
  constructor(threads: number, module: object, memory: object) {
    super(threads, module, memory, ATTENTION_POOL);
  }
}
