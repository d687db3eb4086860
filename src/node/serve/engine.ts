// The engine process a served model runs in: the embedded engine's script (the compiled tree in a
// checkout, the bundle in the VSIX) or the PyTorch engine from its environment.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendName, EngineName } from '../../protocol';
import { EngineCommand, nodeEngineCommand, torchEngineCommand } from '../engine-command';
import { PACKAGE_ROOT } from '../package-root';

export function embeddedEnginePath(): string {
  const compiled = path.join(PACKAGE_ROOT, 'out', 'src', 'engine', 'main.js');
  return fs.existsSync(compiled) ? compiled : path.join(PACKAGE_ROOT, 'dist', 'engine.js');
}

/** `embedded` overrides how the embedded engine starts (the extension host passes its bundle and Node). */
export function serveEngineCommand(engine: EngineName, embedded: { enginePath?: string; nodePath?: string; backend?: BackendName } = {}): EngineCommand {
  if (engine === 'torch') return torchEngineCommand();
  return nodeEngineCommand({ enginePath: embedded.enginePath ?? embeddedEnginePath(), nodePath: embedded.nodePath, backend: embedded.backend });
}
