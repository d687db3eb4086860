// Where the PyTorch engine's Python environment lives, found the same way by the CLI and the
// extension (resolveTorchEnv says the order), and the per-user file that records where the last
// set-up put it, so the CLI finds the env the extension made. Not the installer (torch-setup.ts).
// The engine's Python code is run from python/ on PYTHONPATH (not pip-installed).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PACKAGE_ROOT } from './package-root';

export { PACKAGE_ROOT };

export const TORCH_REQUIREMENTS = path.join(PACKAGE_ROOT, 'python', 'requirements.txt');
export const TORCH_PACKAGE_DIR = path.join(PACKAGE_ROOT, 'python');
/** Written into the environment after a set-up that installed and imported every pin: the hash of requirements.txt. */
export const TORCH_STAMP = '.dpo-requirements.sha256';

/** Why an environment folder was chosen (the set-up records only the homes it picked itself). */
export type TorchEnvSource = 'DPO_TORCH_ENV' | 'checkout' | 'recorded' | 'extension-storage' | 'user-data';

export interface TorchEnvLocation {
  dir: string;
  source: TorchEnvSource;
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  packageRoot?: string;
  /** The extension's home for a new environment (its global storage); absent for the CLI. */
  storageDir?: string;
  platform?: NodeJS.Platform;
}

/** Per-user folders as each platform names them: config for the record, data for the CLI's env. */
function userFolder(kind: 'config' | 'data', env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  const home = env.HOME || env.USERPROFILE || os.homedir();
  if (platform === 'win32') {
    const base = kind === 'config' ? env.APPDATA || path.join(home, 'AppData', 'Roaming') : env.LOCALAPPDATA || path.join(home, 'AppData', 'Local');
    return path.join(base, 'dpo-studio');
  }
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'dpo-studio');
  const xdg = kind === 'config' ? env.XDG_CONFIG_HOME : env.XDG_DATA_HOME;
  return path.join(xdg || path.join(home, kind === 'config' ? '.config' : path.join('.local', 'share')), 'dpo-studio');
}

/** The small per-user file holding `{ "envDir": … }` of the last set-up into a default home. */
export function torchEnvRecordFile(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return path.join(userFolder('config', env, platform), 'torch-env.json');
}

function hasInterpreter(dir: string, platform: NodeJS.Platform): boolean {
  return fs.existsSync(torchPython(dir, platform));
}

function recordedEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(torchEnvRecordFile(env, platform), 'utf8')) as { envDir?: unknown };
    return typeof r.envDir === 'string' && path.isAbsolute(r.envDir) && hasInterpreter(r.envDir, platform) ? r.envDir : undefined;
  } catch {
    return undefined; // no record yet, or one we cannot read: fall through to the default home
  }
}

/**
 * 1. DPO_TORCH_ENV; 2. `.cache/torch-env` in the package root when it holds an interpreter (a dev
 * checkout: npm test makes it there); 3. the environment recorded by the last set-up, when it still
 * holds an interpreter; 4. for a new set-up, the extension's global storage (which survives
 * extension updates), or for the CLI `.cache/torch-env` in a git checkout, else the per-user data
 * folder. Never the versioned extension folder for an installed extension.
 */
export function resolveTorchEnv(o: ResolveOptions = {}): TorchEnvLocation {
  const env = o.env ?? process.env;
  const platform = o.platform ?? process.platform;
  const root = o.packageRoot ?? PACKAGE_ROOT;
  if (env.DPO_TORCH_ENV) return { dir: path.resolve(env.DPO_TORCH_ENV), source: 'DPO_TORCH_ENV' };
  const checkout = path.join(root, '.cache', 'torch-env');
  if (hasInterpreter(checkout, platform)) return { dir: checkout, source: 'checkout' };
  const recorded = recordedEnv(env, platform);
  if (recorded) return { dir: recorded, source: 'recorded' };
  if (o.storageDir) return { dir: path.join(o.storageDir, 'torch-env'), source: 'extension-storage' };
  if (fs.existsSync(path.join(root, '.git'))) return { dir: checkout, source: 'checkout' };
  return { dir: path.join(userFolder('data', env, platform), 'torch-env'), source: 'user-data' };
}

let storageDir: string | undefined;

/** The extension calls this once at activation: new environments go to its global storage. */
export function useTorchEnvStorage(dir: string | undefined): void {
  storageDir = dir;
}

export function torchEnvLocation(env: NodeJS.ProcessEnv = process.env): TorchEnvLocation {
  return resolveTorchEnv({ env, storageDir });
}

export function torchEnvDir(env: NodeJS.ProcessEnv = process.env): string {
  return torchEnvLocation(env).dir;
}

/** Records a freshly set-up environment for the CLI and later sessions (written atomically). */
export function recordTorchEnv(envDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = torchEnvRecordFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ envDir: path.resolve(envDir) }) + '\n');
  fs.renameSync(tmp, file);
  return file;
}

export function torchPython(envDir = torchEnvDir(), platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.join(envDir, 'Scripts', 'python.exe') : path.join(envDir, 'bin', 'python');
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
