// Owns training runs: one engine child process per run, started from a config, stopped gracefully
// (the engine finishes its step and checkpoints), killed after a timeout, and explained when it
// exits badly. The run folder keeps everything up to the last checkpoint whatever happens. The engine
// is the embedded Node one or the PyTorch one (src/node/engine-choice.ts), the same protocol either way.
import * as vscode from 'vscode';
import {
  BackendName,
  DpoConfig,
  EngineName,
  HealthWarning,
  MetricsRecord,
  RunPhase,
  RunProgress,
  TrainingMode,
  assertNever,
  parseMetricsRecord,
  resolveConfig,
  backendLabel,
} from '../protocol';
import { EngineClient, EngineExit, describeExit } from './engine-client';
import { EngineSetting, chooseEngine, engineLabel, torchInstalled } from '../node/engine-choice';
import { EngineCommand, nodeEngineCommand, torchEngineCommand } from '../node/engine-command';
import { readRunConfig } from '../node/run-folder';
import { keyLine } from '../node/failure-text';
import { phaseWords } from '../node/progress-text';
import { torchEnvDir } from '../node/torch-env';
import { CheckpointEvals } from '../node/eval/checkpoint-evals';
import { LiveMetricsExport } from '../node/metrics-export';

/** A session's state in this window (the run folder's status records say what the engine did). */
export type SessionStatus = 'starting' | 'running' | 'stopping' | 'completed' | 'stopped' | 'failed' | 'killed';

export interface RunEnd {
  status: Extract<SessionStatus, 'completed' | 'stopped' | 'failed' | 'killed'>;
  message?: string;
  finalDir?: string;
}

export class RunSession {
  status: SessionStatus = 'starting';
  step = 0;
  totalSteps = 0;
  phase: RunPhase = 'loading';
  /** The engine's last progress event; absent until it sends one (a torch engine imports torch first). */
  progress?: { phase: RunPhase; done: number; total: number; message?: string };
  lastMetrics?: MetricsRecord;
  lastEval?: MetricsRecord;
  readonly startedAt = Date.now();
  firstTrainingStepAt?: { time: number; step: number };
  readonly mutedWarnings = new Set<string>();
  /** What the engine computes on, from its handshake ("wasm", "cuda:0"). */
  backend?: string;
  /** "torch · cuda:0 NVIDIA H100 80GB" or "tfjs · wasm", once the engine has started. */
  engineLabel?: string;
  config?: DpoConfig;
  /** Evaluate during training (checkpoint_eval_prompts > 0): the background evaluations of its checkpoints. */
  evals?: CheckpointEvals;
  /** report_to ["tensorboard"]: the run's TensorBoard export, finished after its evaluations. */
  tensorboard?: LiveMetricsExport;
  readonly ended: Promise<RunEnd>;
  private settle!: (end: RunEnd) => void;

  constructor(
    readonly runDir: string,
    readonly mode: TrainingMode,
    readonly engine: EngineClient,
    readonly engineName: EngineName = 'tfjs',
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  get isActive(): boolean {
    return this.status === 'starting' || this.status === 'running' || this.status === 'stopping';
  }

  /** Before the first training step: what the engine is doing, in words; undefined once it trains or ends. */
  get startingText(): string | undefined {
    if (!this.isActive || this.status === 'stopping' || this.firstTrainingStepAt) return undefined;
    const p = this.progress;
    if (!p) return this.engineName === 'torch' ? 'importing torch…' : 'starting the engine…';
    return `${phaseWords(p)}${p.total > 1 ? ` ${p.done}/${p.total}` : ''}…`;
  }

  /** While the engine runs: its phase and progress for the metrics panel (before its first event: starting it). */
  get progressNow(): RunProgress | undefined {
    if (!this.isActive) return undefined;
    const p = this.progress;
    if (!p) return { text: this.engineName === 'torch' ? 'importing torch' : 'starting the engine', done: 0, total: 0 };
    return { text: phaseWords(p), done: p.done, total: p.total > 1 ? p.total : 0 };
  }

  /** Seconds left, from the pace since the first step this session saw. */
  etaSeconds(): number | undefined {
    if (!this.firstTrainingStepAt || this.step <= this.firstTrainingStepAt.step) return undefined;
    const perStep = (Date.now() - this.firstTrainingStepAt.time) / 1000 / (this.step - this.firstTrainingStepAt.step);
    return perStep * (this.totalSteps - this.step);
  }

  end(end: RunEnd): void {
    if (!this.isActive) return;
    this.status = end.status;
    this.settle(end);
    void (this.evals?.drain() ?? Promise.resolve()).then(() => this.tensorboard?.finish());
  }
}

export interface RunManagerOptions {
  enginePath: string;
  log: (line: string) => void;
  settings: () => { nodePath: string; backend: BackendName | null; threads?: number; stopTimeoutSeconds: number; engine?: EngineSetting };
}

export class RunError extends Error {}

/** A torch run was asked for and the PyTorch engine's environment does not exist yet. */
export class TorchEnvMissingError extends RunError {
  constructor(readonly envDir: string) {
    super(`the PyTorch engine is not set up (no finished set-up at ${envDir}): run "DPO: Set Up PyTorch Engine" first`);
  }
}

export class RunManager implements vscode.Disposable {
  private readonly sessions: RunSession[] = [];
  private readonly changed = new vscode.EventEmitter<RunSession>();
  private readonly warned = new vscode.EventEmitter<{ session: RunSession; warning: HealthWarning }>();
  private readonly progressed = new vscode.EventEmitter<{ session: RunSession; phase: RunPhase; done: number; total: number; message?: string }>();
  private readonly started = new vscode.EventEmitter<RunSession>();
  readonly onDidChange = this.changed.event;
  /** A session was created (new run or resume), before its engine has started: the metrics panel opens on it. */
  readonly onDidStartSession = this.started.event;
  readonly onWarning = this.warned.event;
  readonly onProgress = this.progressed.event;

  constructor(private readonly options: RunManagerOptions) {}

  active(): RunSession[] {
    return this.sessions.filter((s) => s.isActive);
  }

  all(): readonly RunSession[] {
    return this.sessions;
  }

  /** `threads`: the run config's (0: the dpo.threads setting's), fixed when the engine starts. */
  private command(engine: EngineName, threads = 0): EngineCommand {
    const s = this.options.settings();
    if (engine === 'tfjs') {
      return nodeEngineCommand({ nodePath: s.nodePath, enginePath: this.options.enginePath, backend: s.backend ?? undefined, threads: threads || s.threads });
    }
    const envDir = torchEnvDir();
    if (!torchInstalled(envDir)) throw new TorchEnvMissingError(envDir);
    return torchEngineCommand(envDir);
  }

  /** The engine a new run of this config uses (the config's `engine`, else the dpo.engine setting). */
  engineFor(config: Record<string, unknown>): EngineName {
    return chooseEngine(config, this.options.settings().engine ?? 'tfjs');
  }

  /**
   * Validates the config here first (the same schema the engine applies), so a bad field is
   * reported before any process starts; throws RunError naming every bad field.
   */
  async start(mode: TrainingMode, config: Record<string, unknown>, source = 'run config'): Promise<RunSession> {
    let resolved: DpoConfig;
    const full = { ...config, mode, engine: this.engineFor(config) };
    try {
      resolved = resolveConfig(full, source);
    } catch (err) {
      throw new RunError((err as Error).message);
    }
    return this.begin(resolved.output_dir, mode, resolved.engine, (engine) => engine.request('run/start', { mode, config: full }), resolved.threads, resolved);
  }

  /** Resumes with the engine that wrote the run (its config.json says which). */
  async resume(runDir: string): Promise<RunSession> {
    const read = readRunConfig(runDir);
    const engine = read.ok ? read.config.engine : 'tfjs';
    return this.begin(
      runDir,
      read.ok ? read.config.mode : 'dpo',
      engine,
      (client) => client.request('run/resume', { runDir }),
      read.ok ? read.config.threads : 0,
      read.ok ? read.config : undefined,
    );
  }

  private async begin(
    runDir: string,
    mode: TrainingMode,
    engineName: EngineName,
    send: (engine: EngineClient) => Promise<unknown>,
    threads = 0,
    config?: DpoConfig,
  ): Promise<RunSession> {
    const engine = new EngineClient({ command: this.command(engineName, threads), log: this.options.log });
    const session = new RunSession(runDir, mode, engine, engineName);
    // Known before the engine confirms it (run/didStart): the metrics panel titles its charts from it at once.
    session.config = config;
    this.sessions.push(session);
    this.wire(session);
    this.started.fire(session);
    try {
      const hello = await engine.ready;
      session.backend = hello.backend ? backendLabel(hello.backend) : hello.device;
      session.engineLabel = engineLabel(hello);
      this.options.log(`engine: ${session.engineLabel} (pid ${hello.pid}) for ${runDir}`);
      await send(engine);
    } catch (err) {
      const message = engine.exited ? this.crashMessage(engine.exited) : (err as Error).message;
      session.end({ status: 'failed', message });
      engine.kill();
      this.changed.fire(session);
      throw new RunError(message);
    }
    session.status = 'running';
    this.changed.fire(session);
    return session;
  }

  private crashMessage(x: EngineExit): string {
    const oom = x.lastLines.some((l) => /heap out of memory|Aborted\(|ran out of memory/i.test(l));
    const head = `the engine ${describeExit(x)}${oom ? ' (out of memory)' : ''}`;
    const key = keyLine(x.lastLines);
    // The key line first: a notification shows one line, never a bare "Last lines:".
    return key ? `${head}: ${key}\nLast lines:\n${x.lastLines.slice(-8).join('\n')}` : `${head}, without printing anything`;
  }

  private wire(session: RunSession): void {
    const { engine } = session;
    engine.onEvent((e) => {
      switch (e.type) {
        case 'run/didStart': {
          session.config = e.params.config;
          const s = this.options.settings();
          session.evals ??= CheckpointEvals.forRun(session.runDir, e.params.config, {
            log: (line) => this.options.log(`[eval] ${line}`),
            embedded: { enginePath: this.options.enginePath, nodePath: s.nodePath, backend: s.backend ?? undefined },
          });
          session.tensorboard ??= LiveMetricsExport.forRun(session.runDir, e.params.config, { log: (line) => this.options.log(`[tensorboard] ${line}`) });
          return;
        }
        case 'run/didProgress': {
          const p = e.params;
          session.phase = p.phase;
          session.progress = p;
          if (p.phase === 'training') {
            session.step = p.done;
            session.totalSteps = p.total;
            session.firstTrainingStepAt ??= { time: Date.now(), step: p.done };
          }
          this.progressed.fire({ session, ...p });
          this.changed.fire(session);
          return;
        }
        case 'run/didLogMetrics': {
          const r = parseMetricsRecord(e.params.record);
          if (!r.ok) return; // the message guard already checked it
          if (r.value.split === 'train') session.lastMetrics = r.value;
          else session.lastEval = r.value;
          this.changed.fire(session);
          return;
        }
        case 'run/didWarn':
          this.warned.fire({ session, warning: e.params });
          return;
        case 'run/didLog':
          this.options.log(`[run] ${e.params.line}`);
          return;
        case 'run/didFinish':
          if (e.params.finalDir) session.evals?.final(e.params.step, e.params.finalDir);
          session.step = e.params.step;
          session.end({ status: e.params.reason, finalDir: e.params.finalDir });
          void engine.request('engine/shutdown', {}).catch(() => undefined);
          this.changed.fire(session);
          return;
        case 'run/didFail':
          session.end({ status: 'failed', message: e.params.message });
          void engine.request('engine/shutdown', {}).catch(() => undefined);
          this.changed.fire(session);
          return;
        case 'engine/didReject':
          this.options.log(`engine rejected a message: ${e.params.message}`);
          return;
        case 'run/didCheckpoint':
          session.evals?.checkpoint(e.params.step, e.params.dir);
          return;
        case 'engine/didStart': // handled by EngineClient.ready
        case 'probe/didToken': // probe engines only
          return;
        default:
          assertNever(e);
      }
    });
    engine.onExit((x) => {
      if (session.isActive) {
        session.end({ status: session.status === 'stopping' ? 'killed' : 'failed', message: this.crashMessage(x) });
        this.changed.fire(session);
      }
    });
  }

  /** Graceful stop: the engine finishes its step and checkpoints; killed after the timeout. */
  async stop(session: RunSession): Promise<RunEnd> {
    if (!session.isActive) return session.ended;
    session.status = 'stopping';
    this.changed.fire(session);
    const timeout = this.options.settings().stopTimeoutSeconds * 1000;
    await session.engine.request('run/stop', {}).catch(() => undefined);
    const timer = setTimeout(() => {
      this.options.log(`run ${session.runDir} did not stop within ${timeout / 1000} s; killing the engine`);
      session.engine.kill();
    }, timeout);
    try {
      return await session.ended;
    } finally {
      clearTimeout(timer);
    }
  }

  dispose(): void {
    for (const s of this.all()) s.evals?.cancel();
    for (const s of this.active()) {
      // Closing stdin asks the engine to stop gracefully; it checkpoints and exits on its own.
      void s.engine.request('engine/shutdown', {}).catch(() => undefined);
    }
    this.changed.dispose();
    this.warned.dispose();
    this.progressed.dispose();
    this.started.dispose();
  }
}
