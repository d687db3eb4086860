// How an engine process is started, shared by the CLI and the extension: the embedded engine is a
// Node script (the editor's own runtime made to behave as Node), the PyTorch engine is
// `python -m dpo_studio.engine` from the environment that set-up made. Both speak the same protocol.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendName, EngineName } from '../protocol';
import { PACKAGE_ROOT } from './package-root';
import { requireTorchPython, torchEnvDir, torchProcessEnv } from './torch-env';

export interface EngineCommand {
  engine: EngineName;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export function nodeEngineCommand(o: { nodePath?: string; enginePath: string; backend?: BackendName; threads?: number }): EngineCommand {
  return {
    engine: 'tfjs',
    command: o.nodePath || process.execPath,
    // threads: 0 or absent lets the engine use every core.
    args: [o.enginePath, ...(o.backend ? ['--backend', o.backend] : []), ...(o.threads ? ['--threads', String(o.threads)] : [])],
    // Inside Electron, process.execPath is Electron itself: this makes it behave as Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  };
}

/** Throws (saying how to set it up) when the environment has no interpreter. */
export function torchEngineCommand(envDir = torchEnvDir()): EngineCommand {
  return { engine: 'torch', command: requireTorchPython(envDir), args: ['-m', 'dpo_studio.engine'], env: torchProcessEnv() };
}

/** The embedded engine's script: the compiled tree in a checkout, the bundle in the VSIX. */
export function embeddedEnginePath(): string {
  const compiled = path.join(PACKAGE_ROOT, 'out', 'src', 'engine', 'main.js');
  return fs.existsSync(compiled) ? compiled : path.join(PACKAGE_ROOT, 'dist', 'engine.js');
}

/**
 * The engine to start for `dpo serve` and `dpo eval`: the PyTorch one from its environment, or the
 * embedded one; `embedded` overrides how it starts (the extension host passes its bundle and Node).
 */
export function engineCommandFor(engine: EngineName, embedded: { enginePath?: string; nodePath?: string; backend?: BackendName } = {}): EngineCommand {
  if (engine === 'torch') return torchEngineCommand();
  return nodeEngineCommand({ enginePath: embedded.enginePath ?? embeddedEnginePath(), nodePath: embedded.nodePath, backend: embedded.backend });
}
