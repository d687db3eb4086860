// `dpo serve`: a model, adapter, run or checkpoint folder behind an OpenAI-compatible HTTP API on
// localhost, from either engine. Prints "serving <id> at <url>" on stdout once ready; SIGINT or
// SIGTERM stop it. The server itself is src/node/serve/server.ts.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ENGINE_NAMES, EngineName } from '../protocol';
import { engineCommandFor } from '../node/engine-command';
import { describeExit, lastLinesText } from '../node/engine-client';
import { resolveServedModel } from '../node/serve/model-folder';
import { ModelServer, SERVE_DEFAULTS } from '../node/serve/server';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number from 0 (any free port) to 65535');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

export function addServeCommand(program: Command, log: (line: string) => void): void {
  program
    .command('serve')
    .description('serve a model over an OpenAI-compatible HTTP API (/v1/models, /v1/chat/completions, /v1/completions) until Ctrl-C')
    .requiredOption(
      '--model <dir>',
      "model or PEFT adapter folder, a run folder (its final/, else its newest checkpoint) or a checkpoint; the folder's name is the model id",
    )
    .option('--port <n>', 'port; 0 picks a free one', port, SERVE_DEFAULTS.port)
    .option('--host <address>', 'address to listen on', SERVE_DEFAULTS.host)
    .addOption(new Option('--engine <name>', "tfjs (embedded) or torch (PyTorch); default: the run's engine, else tfjs").choices(ENGINE_NAMES))
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: $DPO_SERVE_API_KEY; none: no key needed)')
    .option('--allowed-host <name...>', 'another host name a server on 127.0.0.1 answers to (it refuses other Host headers: DNS-rebinding defence)')
    .option('--max-queue <n>', 'requests that may wait while one generates; more are answered 429', count, SERVE_DEFAULTS.maxQueue)
    .action(async (o) => {
      const model = resolveServedModel(o.model);
      const engine: EngineName = o.engine ?? model.runEngine ?? 'tfjs';
      const apiKey: string | undefined = o.apiKey ?? (process.env.DPO_SERVE_API_KEY || undefined);
      const server = await ModelServer.start({
        model,
        command: engineCommandFor(engine),
        host: o.host,
        port: o.port,
        apiKey,
        maxQueue: o.maxQueue,
        allowedHosts: o.allowedHost,
        log,
      });
      process.stdout.write(`serving ${model.id} at ${server.url}\n`);
      if (o.host !== '127.0.0.1' && o.host !== 'localhost' && o.host !== '::1' && !apiKey)
        log(`warning: listening on ${o.host} without an API key: anyone who can reach it can use the model`);
      await new Promise<void>((resolve) => {
        let closing = false;
        const stop = (why: string, code: number) => {
          if (closing) return;
          closing = true;
          log(why);
          process.exitCode = code;
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('stopping (SIGINT)', 0));
        process.once('SIGTERM', () => stop('stopping (SIGTERM)', 0));
        server.engine.onExit((x) => stop(`the ${engine} engine stopped (${describeExit(x)}). ${lastLinesText(x.lastLines)}`, 1));
      });
    });
}
