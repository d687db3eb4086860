// "DPO: Serve Model": a model, adapter, run or checkpoint folder behind the OpenAI-compatible API
// of `dpo serve` (src/node/serve), run in the extension host with its engine as a child process.
// One server at a time: a second invocation stops it, as does deactivation.
import * as vscode from 'vscode';
import { chooseEngine } from '../node/engine-choice';
import { nodeEngineCommand, torchEngineCommand } from '../node/engine-command';
import { resolveServedModel } from '../node/serve/model-folder';
import { ModelServer } from '../node/serve/server';
import { listRunFolders, modelPickItems } from './run-folders';
import { readSettings, runsRoot } from './settings';
import { COMMANDS, CommandContext, CommandResult, fail, requireTrust } from './commands';

export interface ServeArgs {
  /** Skips the picker. */
  modelDir?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  apiKey?: string;
}

/** The command and a disposable that stops a running server on deactivation. */
export function registerServeCommand(ctx: CommandContext): vscode.Disposable {
  let running: ModelServer | undefined;
  const log = (line: string) => ctx.output.appendLine(line);
  const stop = async (): Promise<string | undefined> => {
    const s = running;
    running = undefined;
    if (!s) return undefined;
    await s.close();
    log(`stopped serving ${s.modelId} at ${s.url}`);
    return s.url;
  };
  const serve = async (args: ServeArgs = {}): Promise<CommandResult & { url?: string; stopped?: boolean }> => {
    if (running) {
      const url = await stop();
      void vscode.window.showInformationMessage(`DPO: stopped serving at ${url}`);
      return { ok: true, stopped: true, url };
    }
    const untrusted = await requireTrust();
    if (untrusted) return untrusted;
    const settings = readSettings();
    const dir = args.modelDir ?? (await pickModel(runsRoot(settings)));
    if (!dir) return { ok: false, error: 'cancelled' };
    try {
      const model = resolveServedModel(dir);
      const engine = chooseEngine(model.runEngine ? { engine: model.runEngine } : {}, settings.engine);
      const command =
        engine === 'torch'
          ? torchEngineCommand()
          : nodeEngineCommand({ nodePath: settings.nodePath, enginePath: ctx.enginePath, backend: settings.backend ?? undefined, threads: settings.threads });
      running = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `DPO: loading ${model.id} on the ${engine} engine` },
        () => ModelServer.start({ model, command, port: args.port ?? 0, apiKey: args.apiKey, log }),
      );
      const server = running;
      server.engine.onExit(() => {
        if (running !== server) return;
        running = undefined;
        void fail(`the engine serving ${model.id} stopped; see the DPO Engine output`, ctx);
      });
      log(`serving ${model.id} at ${server.url}`);
      void vscode.window.showInformationMessage(`DPO: serving ${model.id} at ${server.url} (run DPO: Serve Model again to stop)`, 'Copy address').then((a) => {
        if (a) void vscode.env.clipboard.writeText(server.url);
      });
      return { ok: true, path: model.modelDir, url: server.url };
    } catch (err) {
      return fail(`cannot serve ${dir}: ${(err as Error).message}`, ctx);
    }
  };
  const command = vscode.commands.registerCommand(COMMANDS.serveModel, serve);
  return { dispose: () => (command.dispose(), void stop()) };
}

async function pickModel(root: string | undefined): Promise<string | undefined> {
  const items = modelPickItems(listRunFolders(root));
  const pick = await vscode.window.showQuickPick([...items, { label: '$(folder-opened) Choose a model, adapter or run folder…', description: '', dir: '' }], {
    title: 'DPO: Serve Model',
    placeHolder: 'the model to serve over an OpenAI-compatible API on localhost',
  });
  if (!pick) return undefined;
  return pick.dir || (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Serve This Model' }))?.[0]?.fsPath;
}
