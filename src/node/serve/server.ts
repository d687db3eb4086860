// `dpo serve`'s HTTP server: an OpenAI-compatible API (/v1/models, /v1/chat/completions,
// /v1/completions, server-sent-event streams) over one engine process's probe/* requests. Plain
// node:http, no framework; one generation at a time, the rest in a bounded queue. Not the CLI.
import * as http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { EngineName } from '../../protocol';
import { EngineCommand } from '../engine-command';
import { EngineProcess, describeExit, isEvent } from '../engine-client';
import { ApiError, Completion, Endpoint, GenerationJob, finishReason, parseJob, usage } from './openai';
import { GenerationQueue, StreamText } from './stream-text';
import { ServedModel } from './model-folder';
import { hostRefusal } from './host-check';

export interface ServeOptions {
  model: ServedModel;
  command: EngineCommand;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Clients must send `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** Requests that may wait while one generates; more get 429. */
  maxQueue?: number;
  maxBodyBytes?: number;
  /** Host names (besides localhost's) a loopback server answers to (see host-check.ts). */
  allowedHosts?: string[];
  log: (line: string) => void;
}

export const SERVE_DEFAULTS = { host: '127.0.0.1', port: 8000, maxQueue: 16, maxBodyBytes: 1 << 20 };
const ROUTES: Record<string, { method: 'GET' | 'POST'; endpoint?: Endpoint }> = {
  '/v1/models': { method: 'GET' },
  '/v1/chat/completions': { method: 'POST', endpoint: 'chat' },
  '/v1/completions': { method: 'POST', endpoint: 'completion' },
};
const RETRY_AFTER_S = 1;

export class ModelServer {
  private readonly http: http.Server;
  private readonly queue: GenerationQueue;
  private readonly keyHash: Buffer | undefined;
  private readonly created = Math.floor(Date.now() / 1000);
  private chatTemplate = false;
  /** Receives the running generation's tokens (one generation at a time, so no id is needed). */
  private onToken: ((text: string) => void) | undefined;
  url = '';

  private constructor(
    private readonly o: ServeOptions,
    readonly engine: EngineProcess,
  ) {
    this.queue = new GenerationQueue(o.maxQueue ?? SERVE_DEFAULTS.maxQueue);
    this.keyHash = o.apiKey ? sha256(o.apiKey) : undefined;
    engine.onEvent((e) => isEvent(e, 'probe/didToken') && this.onToken?.(e.params.text));
    this.http = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
  }

  get modelId(): string {
    return this.o.model.id;
  }

  /** Requests waiting for their turn (the running one not counted). */
  get waiting(): number {
    return this.queue.waitingCount;
  }

  get engineName(): EngineName {
    return this.o.command.engine;
  }

  /** Starts the engine, loads the model, then listens; rejects (engine stopped) if any step fails. */
  static async start(o: ServeOptions): Promise<ModelServer> {
    const engine = new EngineProcess({ command: o.command, log: o.log });
    const server = new ModelServer(o, engine);
    try {
      await engine.ready;
      const loaded = await engine.request('probe/load', { policyDir: o.model.modelDir });
      server.chatTemplate = loaded.chatTemplate;
      o.log(`loaded ${o.model.modelDir} (${loaded.architecture}, ${loaded.parameters.toLocaleString('en-US')} parameters) on the ${o.command.engine} engine`);
      await new Promise<void>((resolve, reject) => {
        server.http.once('error', reject);
        server.http.listen(o.port ?? SERVE_DEFAULTS.port, o.host ?? SERVE_DEFAULTS.host, () => resolve());
      });
    } catch (err) {
      engine.dispose();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES')
        throw new Error(
          `cannot listen on ${o.host ?? SERVE_DEFAULTS.host}:${o.port ?? SERVE_DEFAULTS.port} (${code}): choose another port with --port (0: any free port)`,
          { cause: err },
        );
      throw err;
    }
    const a = server.http.address() as AddressInfo;
    server.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/v1`;
    return server;
  }

  /** Stops listening, ends open connections and streams, then lets the engine exit (killed after a grace). */
  async close(graceMs = 3000): Promise<void> {
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    if (this.engine.exited) return;
    const exited = new Promise<void>((resolve) => this.engine.onExit(() => resolve()));
    this.engine.closeInput();
    const timer = setTimeout(() => this.engine.kill(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refused = hostRefusal(this.o.host ?? SERVE_DEFAULTS.host, req.headers.host, this.o.allowedHosts);
    if (refused) throw new ApiError(403, refused, null, 'host_not_allowed');
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const modelPath = pathname.startsWith('/v1/models/') ? safeDecode(pathname.slice('/v1/models/'.length)) : undefined;
    const key = modelPath !== undefined ? '/v1/models' : pathname;
    const route = Object.prototype.hasOwnProperty.call(ROUTES, key) ? ROUTES[key] : undefined;
    if (!route)
      throw new ApiError(
        404,
        `no route ${req.method} ${pathname}; this server has GET /v1/models, POST /v1/chat/completions, POST /v1/completions`,
        null,
        'not_found',
      );
    if (req.method !== route.method) {
      res.setHeader('Allow', route.method);
      throw new ApiError(405, `${pathname} takes ${route.method}, not ${req.method}`, null, 'method_not_allowed');
    }
    this.authorize(req);
    if (!route.endpoint) {
      const card = { id: this.modelId, object: 'model', created: this.created, owned_by: 'dpo-studio' };
      if (modelPath === undefined) return send(res, 200, { object: 'list', data: [card] });
      if (modelPath !== this.modelId)
        throw new ApiError(404, `model "${modelPath}" is not served here; this server serves "${this.modelId}"`, 'model', 'model_not_found');
      return send(res, 200, card);
    }
    const body = await readJson(req, this.o.maxBodyBytes ?? SERVE_DEFAULTS.maxBodyBytes);
    const job = parseJob(route.endpoint, body, this.modelId);
    if (job.endpoint === 'chat' && !this.chatTemplate)
      throw new ApiError(
        400,
        `${this.o.model.modelDir} has no chat template, so chat messages cannot be rendered: use /v1/completions`,
        'messages',
        'no_chat_template',
      );
    if (this.engine.exited) throw new ApiError(503, `the ${this.engineName} engine has stopped (${describeExit(this.engine.exited)}); restart dpo serve`);
    const turn = this.queue.enter();
    if (!turn) {
      res.setHeader('Retry-After', String(RETRY_AFTER_S));
      throw new ApiError(429, `the server is busy: one generation runs and ${this.queue.maxQueue} wait; retry shortly`, null, 'rate_limit_exceeded');
    }
    res.once('close', turn.abandon); // a client gone while waiting leaves the queue
    try {
      await turn.ready;
      if (res.destroyed) return;
      await this.generate(job, res);
    } finally {
      turn.done();
    }
  }

  private authorize(req: http.IncomingMessage): void {
    if (!this.keyHash) return;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(sha256(m[1].trim()), this.keyHash))
      throw new ApiError(401, 'missing or wrong API key: send Authorization: Bearer <key> (the key dpo serve was started with)', null, 'invalid_api_key');
  }

  /** The engine's generation for a job, streamed or not (its tokens arrive through onToken). */
  private generateOnce(job: GenerationJob) {
    return this.engine.request('probe/generate', {
      which: 'policy',
      prompt: job.prompt,
      chat: job.endpoint === 'chat',
      sampling: job.sampling,
      ...(job.messages ? { messages: job.messages } : {}),
    });
  }

  private async generate(job: GenerationJob, res: http.ServerResponse): Promise<void> {
    const completion = new Completion(job);
    const text = new StreamText(job.sampling.stop);
    let first = true;
    let cancelled = false;
    const onClose = () => {
      if (res.writableEnded || cancelled) return;
      cancelled = true; // the client went away: stop its generation, not the server
      this.engine.request('probe/cancel', {}).catch(() => undefined);
    };
    res.once('close', onClose);
    if (job.stream) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      const event = (value: unknown) => res.write(`data: ${JSON.stringify(value)}\n\n`);
      this.onToken = (piece) => {
        const out = text.push(piece);
        if (!out || res.destroyed) return;
        event(completion.chunk(out, null, first));
        first = false;
      };
      try {
        const g = await this.generateOnce(job);
        if (res.destroyed) return;
        const rest = text.finish(g.text);
        if (rest || first) event(completion.chunk(rest, null, first));
        event(completion.chunk('', finishReason(g.reason)));
        if (job.includeUsage) event(completion.usageChunk(usage(g.promptTokens ?? 0, g.tokens)));
        res.end('data: [DONE]\n\n');
      } catch (err) {
        // Headers are gone: the error travels as an event, as OpenAI's streams send one.
        if (!res.destroyed) res.end(`data: ${JSON.stringify(new ApiError(500, (err as Error).message).body())}\n\ndata: [DONE]\n\n`);
      } finally {
        this.onToken = undefined;
        res.off('close', onClose);
      }
      return;
    }
    try {
      const g = await this.generateOnce(job);
      if (!res.destroyed) send(res, 200, completion.whole(g.text, finishReason(g.reason), usage(g.promptTokens ?? 0, g.tokens)));
    } finally {
      res.off('close', onClose);
    }
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : new ApiError(500, (err as Error).message);
    if (e.status >= 500) this.o.log(`serve: ${e.message}`);
    if (res.headersSent) return void res.destroy();
    send(res, e.status, e.body());
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function send(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The body as JSON: 413 past `limit` bytes (the rest is read and dropped, so the client sees the answer), 400 if not JSON. */
async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0) || 0;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit && declared <= limit) chunks.push(chunk);
  }
  if (size > limit || declared > limit)
    throw new ApiError(413, `the request body is ${size} bytes; this server takes at most ${limit}`, null, 'request_too_large');
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `the request body is not valid JSON: ${(err as Error).message}`, null, 'invalid_json');
  }
}
