// Tokenizer patterns and chat templates from a model folder are untrusted input: a pre-tokenizer or
// normalizer regex can backtrack for hours on a 41-character prompt, a template can loop for
// minutes. Both run here in a worker thread, called synchronously (Atomics.wait with a time limit,
// then receiveMessageOnPort), so callers keep their plain encode()/render() calls; a call past the
// limit terminates the worker and throws an error naming the file at fault. The worker is started
// on the first call and restarted after a timeout.
import * as path from 'node:path';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';

/** Time one encode or render may take (real ones take milliseconds), plus PER_CHAR_MS per character. */
export const CALL_TIMEOUT_MS = 10_000;
/** Tokenizers here do ~2-3 µs per character (10 MB in ~30 s): a long text gets 10x that on top. */
const PER_CHAR_MS = 0.02;
/** Heap of the worker: a tokenizer.json of a large vocabulary needs ~100s of MB, not GBs. */
const WORKER_HEAP_MB = 1024;

export class UntrustedInputError extends Error {}

export interface WorkerSource {
  tokenizerFile: string;
  configFile?: string;
  /** The chat template's text and the file it came from (chat_template.jinja or tokenizer_config.json). */
  template?: { text: string; file: string };
}

export type Call =
  { op: 'encode'; text: string; addSpecialTokens: boolean } | { op: 'tokens'; text: string } | { op: 'render'; items: Record<string, unknown> };
export type Answer = { ok: true; value: unknown } | { ok: false; error: string; file: 'tokenizer' | 'template' };

export class UntrustedTokenizer {
  private worker?: Worker;
  private port?: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  /** Never notified: Atomics.wait on it is a 1 ms sleep. */
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly source: WorkerSource,
    private readonly timeoutMs = CALL_TIMEOUT_MS,
  ) {}

  private start(): void {
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(path.join(__dirname, 'untrusted-worker.js'), {
      workerData: { source: this.source, port: port2, flag: this.flag },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    this.worker.unref(); // an idle tokenizer must not keep the process alive
    this.worker.on('error', () => undefined); // reported through the next call's timeout or answer
    this.port = port1;
  }

  call(c: Call): unknown {
    if (!this.worker) this.start();
    Atomics.store(this.flag, 0, 0);
    this.port!.postMessage(c);
    const limit = this.timeoutMs + (c.op === 'render' ? 0 : c.text.length * PER_CHAR_MS);
    const deadline = Date.now() + limit;
    const waited = Atomics.wait(this.flag, 0, 0, limit);
    let got = receiveMessageOnPort(this.port!);
    // Woken with no answer on the port yet (seen twice in ~1,000 runs under load, the call then
    // reported as a runaway tokenizer within a second): the answer is on its way, so look again.
    while (!got && waited !== 'timed-out' && Date.now() < deadline) {
      Atomics.wait(this.nap, 0, 0, 1);
      got = receiveMessageOnPort(this.port!);
    }
    if (waited === 'timed-out' || !got) {
      this.dispose();
      const what =
        c.op === 'render'
          ? `rendering the chat template of ${this.source.template?.file}`
          : `tokenizing a ${c.text.length}-character text with ${this.source.tokenizerFile}`;
      const why =
        c.op === 'render'
          ? 'the template loops too long or runs out of memory'
          : 'a pre-tokenizer or normalizer pattern backtracks catastrophically, or the tokenizer ran out of memory';
      throw new UntrustedInputError(`${what} did not finish within ${Math.round(limit / 100) / 10} s: ${why}. Fix or replace that file.`);
    }
    const a = got.message as Answer;
    if (a.ok) return a.value;
    const file = a.file === 'template' ? `${this.source.template?.file}: chat template` : this.source.tokenizerFile;
    throw new UntrustedInputError(`${file}: ${a.error}`);
  }

  dispose(): void {
    void this.worker?.terminate();
    this.port?.close();
    this.worker = this.port = undefined;
  }
}

/** Whether an error, or one it wraps, is a tokenizer's or template's own failure. */
export function causedByUntrustedInput(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (e instanceof UntrustedInputError) return true;
  return false;
}
