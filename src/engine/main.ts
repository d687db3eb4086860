// The engine process: reads requests as JSON lines on stdin, writes replies and events as JSON lines
// on stdout (nothing else goes to stdout; diagnostics go to stderr). One run at a time. SIGTERM, a
// stop request, or stdin closing stop a run gracefully: the step finishes and a checkpoint is written.
import {
  BackendName,
  EngineEvents,
  backendLabel,
  EventType,
  PROTOCOL_VERSION,
  Request,
  assertNever,
  eventLine,
  flatMetrics,
  isBackendName,
  parseRequest,
  resolveConfig,
} from '../protocol';
import { selectBackend } from './backend';
import { resolveThreads } from './wasm-threads';
import { RunOptions, Trainer } from './train/trainer';
import { ProbeSession } from './probe/session';
import { RewardModel } from './probe/reward-model';
import { MAX_LINE_BYTES, readLines } from './line-reader';
import { withDefaultOutputDir } from './train/output-dir';

function send<T extends EventType>(type: T, params: EngineEvents[T]): void {
  process.stdout.write(eventLine(type, params));
}

function reply(id: number, result: unknown): void {
  process.stdout.write(JSON.stringify({ kind: 'reply', id, ok: true, result }) + '\n');
}

function replyError(id: number, error: string): void {
  process.stdout.write(JSON.stringify({ kind: 'reply', id, ok: false, error }) + '\n');
}

export async function runEngine(forced?: BackendName, threads?: number): Promise<void> {
  const backend = await selectBackend(forced, threads);
  send('engine/didStart', { protocolVersion: PROTOCOL_VERSION, backend, pid: process.pid, engine: 'tfjs', device: backendLabel(backend) });

  let active: Promise<void> | undefined;
  const probe = new ProbeSession();
  let rewardModel: RewardModel | undefined;
  let stopRequested = false;
  let exiting = false;

  const options = (): RunOptions => ({
    backend,
    shouldStop: () => stopRequested,
    events: {
      onProgress: (phase, done, total, message) => send('run/didProgress', { phase, done, total, ...(message ? { message } : {}) }),
      onMetrics: (record) => send('run/didLogMetrics', { record: flatMetrics(record) }),
      onWarning: (w) => send('run/didWarn', w),
      onCheckpoint: (step, dir) => send('run/didCheckpoint', { step, dir }),
      onLog: (line) => send('run/didLog', { line }),
    },
  });

  const start = (trainer: Trainer) => {
    stopRequested = false;
    send('run/didStart', { runDir: trainer.config.output_dir, config: trainer.config });
    active = trainer
      .run()
      .then((r) =>
        send('run/didFinish', { runDir: r.runDir, reason: r.reason, step: r.step, totalSteps: r.totalSteps, ...(r.finalDir ? { finalDir: r.finalDir } : {}) }),
      )
      .catch((err: Error) => send('run/didFail', { runDir: trainer.config.output_dir, message: err.message }))
      .finally(() => {
        active = undefined;
        if (exiting) process.exit(0);
      });
  };

  const shutdown = () => {
    exiting = true;
    stopRequested = true;
    if (!active) process.exit(0);
  };

  const handle = (req: Request) => {
    switch (req.type) {
      case 'run/start': {
        if (active) return replyError(req.id, 'a run is already active in this engine; stop it first');
        try {
          const config = resolveConfig(withDefaultOutputDir({ ...req.params.config, mode: req.params.mode }, req.params.mode), 'run config');
          if (config.backend && config.backend !== backend.name) {
            return replyError(req.id, `backend: the engine runs on ${backend.name}; start the engine with --backend ${config.backend} to use it`);
          }
          // wasm's thread pool is made once, when the engine starts; 0 takes what it has.
          if (config.threads > 0 && backend.name === 'wasm' && resolveThreads(config.threads) !== backend.threads) {
            return replyError(
              req.id,
              `threads: the engine runs wasm on ${backend.threads} thread(s); start the engine with --threads ${config.threads} to use ${config.threads}`,
            );
          }
          const trainer = Trainer.create(config, options());
          reply(req.id, { runDir: config.output_dir });
          return start(trainer);
        } catch (err) {
          return replyError(req.id, (err as Error).message);
        }
      }
      case 'run/resume': {
        if (active) return replyError(req.id, 'a run is already active in this engine; stop it first');
        try {
          const trainer = Trainer.resume(req.params.runDir, options(), (raw) => resolveConfig(raw, `${req.params.runDir}/config.json`));
          reply(req.id, { runDir: trainer.config.output_dir });
          return start(trainer);
        } catch (err) {
          return replyError(req.id, (err as Error).message);
        }
      }
      case 'run/stop':
        stopRequested = true;
        return reply(req.id, { stopping: active !== undefined });
      case 'engine/shutdown':
        reply(req.id, {});
        return shutdown();
      case 'probe/load':
        try {
          return reply(req.id, probe.load(req.params.policyDir, req.params.referenceDir));
        } catch (err) {
          return replyError(req.id, (err as Error).message);
        }
      case 'probe/generate': {
        const { which, prompt, chat, sampling, messages } = req.params;
        probe
          .generate(req.id, which, prompt, chat, sampling, (text, logprob) => send('probe/didToken', { requestId: req.id, which, text, logprob }), messages)
          .then(
            (r) => reply(req.id, r),
            (err: Error) => replyError(req.id, err.message),
          );
        return;
      }
      case 'probe/score':
        probe.score(req.params.prompt, req.params.chat, req.params.response, req.params.beta, req.params.messages, req.params.responseIds).then(
          (r) => reply(req.id, r),
          (err: Error) => replyError(req.id, err.message),
        );
        return;
      case 'probe/cancel':
        return reply(req.id, { cancelled: probe.cancel() });
      case 'reward-model/load': {
        try {
          // As on the torch engine: the model loaded before stays when the new one is refused.
          const loaded = RewardModel.load(req.params.dir);
          rewardModel?.dispose();
          rewardModel = loaded;
          return reply(req.id, {
            architecture: rewardModel.architecture,
            parameters: rewardModel.numParameters(),
            chatTemplate: rewardModel.tokenizer.hasChatTemplate,
          });
        } catch (err) {
          return replyError(req.id, (err as Error).message);
        }
      }
      case 'reward-model/score': {
        if (!rewardModel) return replyError(req.id, 'no reward model loaded: send reward-model/load first');
        const { prompt, chat, response, messages } = req.params;
        rewardModel.score(prompt, chat, response, messages).then(
          (score) => reply(req.id, { score }),
          (err: Error) => replyError(req.id, err.message),
        );
        return;
      }
      default:
        return assertNever(req);
    }
  };

  let closed = false;
  readLines(process.stdin, {
    line: (line) => {
      if (line.trim() === '') return;
      const parsed = parseRequest(line);
      if (!parsed.ok) {
        if (parsed.id !== undefined) replyError(parsed.id, parsed.error);
        send('engine/didReject', { message: parsed.error, line: line.slice(0, 500) });
        return;
      }
      try {
        handle(parsed.value);
      } catch (err) {
        // "An error, never a crash": whatever slipped past the guard is answered, the run goes on.
        replyError(parsed.value.id, `internal error: ${(err as Error).message}`);
      }
    },
    tooLong: (head, bytes) =>
      send('engine/didReject', { message: `line of ${bytes} bytes is longer than the limit of ${MAX_LINE_BYTES} bytes; dropped`, line: head }),
    // The host went away: finish the step, checkpoint, leave.
    close: () => {
      if (!closed) shutdown();
      closed = true;
    },
  });
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (require.main === module) {
  const i = process.argv.indexOf('--backend');
  const forced = i > 0 ? process.argv[i + 1] : process.env.DPO_BACKEND;
  if (forced !== undefined && !isBackendName(forced)) {
    process.stderr.write(`dpo engine: unknown backend ${JSON.stringify(forced)}\n`);
    process.exit(2);
  }
  const t = process.argv.indexOf('--threads');
  const threadsArg = t > 0 ? process.argv[t + 1] : process.env.DPO_THREADS;
  const threads = threadsArg === undefined ? undefined : Number(threadsArg);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) {
    process.stderr.write(`dpo engine: --threads must be a whole number >= 0 (0: every core), not ${JSON.stringify(threadsArg)}\n`);
    process.exit(2);
  }
  runEngine(forced as BackendName | undefined, threads).catch((err: Error) => {
    process.stderr.write(`dpo engine: ${err.message}\n`);
    process.exit(1);
  });
}
