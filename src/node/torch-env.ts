// Where the PyTorch engine's Python environment lives, found the same way by the CLI and the
// extension: DPO_TORCH_ENV, else `.cache/torch-env` in the package root. The engine's Python code is
// run from python/ on PYTHONPATH (not pip-installed), so an offline set-up needs no build backend.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from './package-root';

export { PACKAGE_ROOT };

export const TORCH_REQUIREMENTS = path.join(PACKAGE_ROOT, 'python', 'requirements.txt');
export const TORCH_PACKAGE_DIR = path.join(PACKAGE_ROOT, 'python');
/** Written into the environment after a successful install: the hash of requirements.txt. */
export const TORCH_STAMP = '.dpo-requirements.sha256';

export function torchEnvDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DPO_TORCH_ENV ? path.resolve(env.DPO_TORCH_ENV) : path.join(PACKAGE_ROOT, '.cache', 'torch-env');
}

export function torchPython(envDir = torchEnvDir()): string {
  return process.platform === 'win32' ? path.join(envDir, 'Scripts', 'python.exe') : path.join(envDir, 'bin', 'python');
}

/** The environment for a Python engine process: the package on PYTHONPATH, unbuffered output. */
export function torchProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const pp = [TORCH_PACKAGE_DIR, ...(base.PYTHONPATH ? [base.PYTHONPATH] : [])].join(path.delimiter);
  return { ...base, PYTHONPATH: pp, PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false' };
}

/** The interpreter of a set-up environment, or an error that says how to make one. */
export function requireTorchPython(envDir = torchEnvDir()): string {
  const py = torchPython(envDir);
  if (!fs.existsSync(py)) throw new Error(`the torch engine needs its Python environment (${envDir}); create it with: npx dpo setup-torch`);
  return py;
}
