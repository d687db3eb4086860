// "DPO: Set Up PyTorch Engine": creates the pinned environment (src/node/torch-setup.ts) with a
// cancellable progress notification, the installer's output in the engine log, and an answer that
// says what it found (torch version, CUDA or CPU, GPUs), or what to do when it cannot.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { SetupError, SetupResult, describeDevices, describeTorch, setupTorch } from '../node/torch-setup';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';
import { FoundPython, describeSource, findBasePython } from './python-interpreter';
import { readSettings } from './settings';

export interface SetupCommandResult extends CommandResult {
  setup?: SetupResult;
  problem?: SetupError['problem'];
}

function explain(err: SetupError, python: FoundPython): string {
  const fix = 'Install Python 3.10 or newer, select it in the Python extension, or set dpo.python.path to its executable.';
  switch (err.problem) {
    case 'no-python':
      return `no Python found: ${describeSource(python)} does not exist. ${fix}`;
    case 'bad-python':
      return `${describeSource(python)} is not a working Python interpreter (${err.message}). ${fix}`;
    case 'python-too-old':
      return `${err.message} (from ${describeSource(python)}). ${fix}`;
    case 'no-disk-space':
    case 'cancelled':
      return err.message;
    case 'install-failed':
      return `the PyTorch engine's set-up failed: ${err.message}`;
  }
}

export async function setUpTorch(ctx: CommandContext, args: { python?: string } = {}): Promise<SetupCommandResult> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  const python: FoundPython = args.python ? { path: args.python, source: 'setting' } : await findBasePython(readSettings().pythonPath);
  // A path that names no file is reported at once, even when the environment exists already.
  if (python.source === 'setting' && /[\\/]/.test(python.path) && !fs.existsSync(python.path)) {
    return { ...fail(explain(new SetupError('no-python', `${python.path} does not exist`), python), ctx), problem: 'no-python' };
  }
  ctx.output.appendLine(`setting up the PyTorch engine (base Python: ${describeSource(python)})`);
  try {
    const setup = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'DPO: Setting up the PyTorch engine', cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return setupTorch({
          python: python.path,
          signal: abort.signal,
          log: (line) => {
            ctx.output.appendLine(line);
            progress.report({ message: line.length > 90 ? `${line.slice(0, 90)}…` : line });
          },
        });
      },
    );
    for (const line of describeTorch(setup)) ctx.output.appendLine(line);
    const t = setup.report;
    void vscode.window
      .showInformationMessage(`DPO: PyTorch engine ${setup.installed ? 'installed' : 'ready'}: torch ${t.torch} on ${describeDevices(t)}.`, 'Show Log')
      .then((a) => a && ctx.output.show(true));
    return { ok: true, setup, path: setup.envDir };
  } catch (err) {
    if (err instanceof SetupError && err.problem === 'cancelled') {
      ctx.output.appendLine('set-up cancelled; running it again continues where it stopped');
      return { ok: false, error: 'cancelled', problem: 'cancelled' };
    }
    const message = err instanceof SetupError ? explain(err, python) : `the PyTorch engine's set-up failed: ${(err as Error).message}`;
    return { ...fail(message, ctx), problem: err instanceof SetupError ? err.problem : 'install-failed' };
  }
}
