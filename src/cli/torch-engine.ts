// The CLI's side of the torch engine: `python -m dpo_studio.engine` from the environment that
// `dpo setup-torch` made, driven over the same stdio protocol the extension uses; and the torch
// engine's one-shot tools (logps) run as Python modules in that environment.
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import * as readline from 'node:readline';
import { EngineEvents, EngineMessage, EventType, RequestType, EngineRequests, parseEngineMessage, requestLine } from '../protocol';
import { requireTorchPython, torchProcessEnv } from '../node/torch-env';
import { torchEngineCommand } from '../node/engine-command';

type EventOf<T extends EventType> = { kind: 'event'; type: T; params: EngineEvents[T] };

export class TorchEngine {
  private readonly child: ChildProcessWithoutNullStreams;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: EngineMessage) => void)[] = [];
  readonly exited: Promise<number | null>;
  readonly ready: Promise<EngineEvents['engine/didStart']>;

  constructor(onStderr: (line: string) => void = () => undefined) {
    const cmd = torchEngineCommand();
    this.child = spawn(cmd.command, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'], env: cmd.env });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      this.on((m) => m.kind === 'event' && m.type === 'engine/didStart' && resolve(m.params as EngineEvents['engine/didStart']));
      this.exited.then((code) => reject(new Error(`the torch engine exited before its handshake (exit ${code}); run: npx dpo setup-torch`)));
    });
    this.ready.catch(() => undefined);
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const parsed = parseEngineMessage(line);
      if (!parsed.ok) return onStderr(`torch engine wrote a bad line (${parsed.error}): ${line.slice(0, 200)}`);
      const m = parsed.value;
      if (m.kind === 'reply') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.result);
        else p?.reject(new Error(m.error));
      }
      for (const l of this.listeners) l(m);
    });
    readline.createInterface({ input: this.child.stderr }).on('line', onStderr);
  }

  on(listener: (m: EngineMessage) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves with the first event of a type. */
  event<T extends EventType>(type: T): Promise<EventOf<T>> {
    return new Promise((resolve) => this.on((m) => m.kind === 'event' && m.type === type && resolve(m as unknown as EventOf<T>)));
  }

  request<T extends RequestType>(type: T, params: EngineRequests[T]['params']): Promise<EngineRequests[T]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.child.stdin.write(requestLine(id, type, params));
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Runs a Python module of the torch engine to completion, its output passed through. */
export function runTorchModule(module: string, args: string[]): void {
  const r = spawnSync(requireTorchPython(), ['-m', module, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: torchProcessEnv() });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`the torch engine's ${module} failed (exit ${r.status})`);
}

/** `dpo probe --engine torch`: the same terminal output as the tfjs probe, through probe/* requests. */
export async function runTorchProbe(job: {
  modelDir: string;
  refDir?: string;
  prompt: string;
  chat: boolean;
  beta: number;
  sampling: Record<string, unknown>;
  write: (t: string) => void;
}): Promise<void> {
  const engine = new TorchEngine();
  try {
    await engine.ready;
    await engine.request('probe/load', { policyDir: job.modelDir, ...(job.refDir ? { referenceDir: job.refDir } : {}) });
    engine.on((m) => m.kind === 'event' && m.type === 'probe/didToken' && job.write(m.params.text));
    const answers: { name: 'policy' | 'reference'; text: string }[] = [];
    for (const which of job.refDir ? (['policy', 'reference'] as const) : (['policy'] as const)) {
      job.write(`${which}: `);
      const g = await engine.request('probe/generate', { which, prompt: job.prompt, chat: job.chat, sampling: job.sampling });
      job.write(`\n  [${g.reason}, ${g.tokens} tokens]\n`);
      answers.push({ name: which, text: g.text });
    }
    if (!job.refDir) return;
    const rewards: number[] = [];
    for (const a of answers) {
      const s = await engine.request('probe/score', { prompt: job.prompt, chat: job.chat, response: a.text, beta: job.beta });
      rewards.push(s.reward);
      job.write(
        `implicit reward of the ${a.name} answer: ${s.reward.toFixed(4)} (log πθ ${s.policyLogp.toFixed(3)}, log πref ${s.referenceLogp.toFixed(3)}, β ${job.beta})\n`,
      );
    }
    const margin = rewards[0] - rewards[1];
    job.write(`margin (policy answer − reference answer): ${margin.toFixed(4)}; σ(margin) = ${(1 / (1 + Math.exp(-margin))).toFixed(4)}\n`);
  } finally {
    engine.close();
  }
}
