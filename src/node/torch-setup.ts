// Creates or updates the PyTorch engine's virtual environment with the exact pins of
// python/requirements.txt, for `dpo setup-torch` and the extension's "DPO: Set Up PyTorch Engine".
// The set-up counts as done (a stamp holding the file's hash) only once the new environment imports
// every pinned package; the stamp skips the install when nothing changed, and the environment's
// report (versions, GPUs) is cached beside it, because importing torch + TRL takes seconds to tens
// of seconds: a second set-up with nothing changed starts no process. pip is told not to wait for
// an unreachable index (--retries 0 --timeout 5), so offline wheel sets work.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { failureText } from './failure-text';
import { TORCH_REQUIREMENTS, TORCH_STAMP, recordTorchEnv, torchEnvDir, torchEnvLocation, torchProcessEnv, torchPython } from './torch-env';

export interface TorchReport {
  python: string;
  torch: string;
  transformers: string;
  trl: string;
  accelerate: string;
  peft: string;
  cuda: string | null;
  gpus: { index: number; name: string; memoryBytes: number }[];
  cpuThreads: number;
}

export interface SetupResult {
  envDir: string;
  python: string;
  installed: boolean;
  /** The report came from the cache written at the last set-up (no Python was started). */
  cached: boolean;
  report: TorchReport;
}

export const MIN_PYTHON: [number, number] = [3, 10];
/** Free space an install needs: CUDA builds of torch unpack to several GB. */
export const MIN_FREE_BYTES = 6 * 2 ** 30;
const REPORT_FILE = '.dpo-report.json';

export type SetupProblem = 'no-python' | 'bad-python' | 'python-too-old' | 'no-disk-space' | 'install-failed' | 'cancelled';

/** A set-up that could not finish, with which kind of problem (so callers can say what to do). */
export class SetupError extends Error {
  constructor(
    readonly problem: SetupProblem,
    message: string,
  ) {
    super(message);
  }
}

export function requirementsHash(file = TORCH_REQUIREMENTS): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function defaultPython(): string {
  return process.platform === 'win32' ? 'python' : 'python3';
}

interface Exec {
  log: (line: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Not echoed line by line (its stdout is data). */
  quiet?: boolean;
  /** What the process does, for its error message (default: the command and its first arguments). */
  what?: string;
}

/** Runs a process to completion, its output to the log; rejects with the last lines on failure. */
function exec(cmd: string, args: string[], o: Exec): Promise<string> {
  const shown = o.what ?? `${path.basename(cmd)} ${args.slice(0, 3).join(' ')}`;
  if (!o.quiet) o.log(o.what ? `$ ${cmd} (${o.what})` : `$ ${[cmd, ...args].join(' ')}`);
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new SetupError('cancelled', 'cancelled'));
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let stdout = '';
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > 15) tail.shift();
      if (!o.quiet) o.log(line);
    };
    child.stdout.on('data', (d) => (stdout += String(d)));
    readline.createInterface({ input: child.stdout }).on('line', keep);
    readline.createInterface({ input: child.stderr }).on('line', keep);
    const abort = () => child.kill('SIGTERM');
    o.signal?.addEventListener('abort', abort);
    child.on('error', (err: NodeJS.ErrnoException) => {
      o.signal?.removeEventListener('abort', abort);
      reject(err.code === 'ENOENT' ? new SetupError('no-python', `${cmd} was not found`) : err);
    });
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', abort);
      if (o.signal?.aborted) reject(new SetupError('cancelled', 'cancelled'));
      else if (code === 0) resolve(stdout);
      else reject(new Error(failureText(shown, signal ?? `exit ${code}`, tail)));
    });
  });
}

/** The import names of python/requirements.txt's pins (pip names where they differ). */
const IMPORT_NAMES: Record<string, string> = { pyyaml: 'yaml', 'scikit-learn': 'sklearn', pillow: 'PIL' };

export function pinnedModules(file = TORCH_REQUIREMENTS): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l && !l.startsWith('-'))
    .map((l) => l.split(/[=<>!~;[ ]/)[0].toLowerCase())
    .map((name) => IMPORT_NAMES[name] ?? name.replace(/-/g, '_'));
}

// Imports each module and names every one that fails, so one broken pin does not hide another.
const IMPORT_CHECK = `
import importlib, sys
bad = []
for m in sys.argv[1:]:
    try:
        importlib.import_module(m)
    except BaseException as e:
        bad.append("%s (%s: %s)" % (m, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
if bad:
    print("ImportError: the environment does not import " + "; ".join(bad))
    sys.exit(1)
print("imported " + " ".join(sys.argv[1:]))
`;

/** Imports every pinned package in the environment (seconds: torch and TRL are large). */
export async function checkImports(python: string, o: Exec, modules = pinnedModules()): Promise<void> {
  o.log(`checking that the environment imports ${modules.join(', ')}`);
  await exec(python, ['-c', IMPORT_CHECK, ...modules], { ...o, env: torchProcessEnv(), what: 'the import check' });
}

/** The version of a base interpreter; SetupError when it is missing, not Python, or too old. */
export async function checkPython(python: string, o: Exec): Promise<string> {
  let out: string;
  try {
    out = await exec(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { ...o, quiet: true });
  } catch (err) {
    if (err instanceof SetupError) throw err;
    throw new SetupError('bad-python', `${python} is not a working Python interpreter: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
  }
  const version = out.trim().split('\n').pop() ?? '';
  const [major, minor] = version.split('.').map(Number);
  if (!Number.isFinite(major) || !Number.isFinite(minor))
    throw new SetupError('bad-python', `${python} printed "${version.slice(0, 80)}" instead of a Python version`);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new SetupError('python-too-old', `${python} is Python ${version}; the PyTorch engine needs Python ${MIN_PYTHON.join('.')} or newer`);
  }
  return version;
}

/** Free bytes where `dir` (or its nearest existing parent) lives. */
export function freeBytes(dir: string): number {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return s.bavail * s.bsize;
}

/** Versions and devices as the environment sees them (starts Python: seconds). */
export async function torchReport(python: string, o: Exec = { log: () => undefined }): Promise<TorchReport> {
  const out = await exec(python, ['-m', 'dpo_studio.env_report'], { ...o, quiet: true, env: torchProcessEnv() });
  return JSON.parse(out.trim().split('\n').pop()!) as TorchReport;
}

/** Whether the environment is installed from the current pins, and its cached report if any. */
export function torchEnvState(envDir = torchEnvDir()): { ready: boolean; report?: TorchReport } {
  const stamp = path.join(envDir, TORCH_STAMP);
  const hash = requirementsHash();
  const ready = fs.existsSync(torchPython(envDir)) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash;
  if (!ready) return { ready };
  try {
    const cached = JSON.parse(fs.readFileSync(path.join(envDir, REPORT_FILE), 'utf8')) as { hash: string; report: TorchReport };
    return { ready, report: cached.hash === hash ? cached.report : undefined };
  } catch {
    return { ready };
  }
}

export interface SetupOptions {
  /** Base interpreter the environment is created with (default: python3). */
  python?: string;
  envDir?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
  minFreeBytes?: number;
  /** Ask the environment again even when a report is cached (GPUs may have changed). */
  fresh?: boolean;
}

export async function setupTorch(o: SetupOptions): Promise<SetupResult> {
  const where = o.envDir ? undefined : torchEnvLocation();
  const envDir = o.envDir ?? where!.dir;
  const python = torchPython(envDir);
  const exe: Exec = { log: o.log, signal: o.signal };
  const state = torchEnvState(envDir);
  if (state.ready && state.report && !o.fresh) return { envDir, python, installed: false, cached: true, report: state.report };
  if (!state.ready) {
    if (!fs.existsSync(python)) {
      const base = o.python ?? defaultPython();
      const version = await checkPython(base, exe);
      o.log(`creating ${envDir} with ${base} (Python ${version})`);
      checkSpace(envDir, o.minFreeBytes ?? MIN_FREE_BYTES);
      fs.mkdirSync(path.dirname(envDir), { recursive: true });
      await exec(base, ['-m', 'venv', envDir], exe).catch((err) => rethrow(err, 'install-failed', `creating the environment failed`));
    } else checkSpace(envDir, o.minFreeBytes ?? MIN_FREE_BYTES);
    await exec(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '0', '--timeout', '5', '-r', TORCH_REQUIREMENTS], exe).catch(
      (err) => rethrow(err, 'install-failed', 'installing python/requirements.txt failed'),
    );
    // pip can exit 0 and still leave a pin out (a wheel set missing one, a later uninstall): only an
    // environment that imports every pin counts as set up, so a run never dies on a missing module.
    await checkImports(python, exe).catch((err) => rethrow(err, 'install-failed', 'the new environment is incomplete'));
    fs.writeFileSync(path.join(envDir, TORCH_STAMP), requirementsHash() + '\n');
  }
  const report = await torchReport(python, exe).catch((err) => rethrow(err, 'install-failed', 'the environment does not import torch'));
  fs.writeFileSync(path.join(envDir, REPORT_FILE), JSON.stringify({ hash: requirementsHash(), report }) + '\n');
  // A default home is recorded, so the CLI (and the extension after an update) finds this env;
  // DPO_TORCH_ENV and a dev checkout's .cache/torch-env are found without a record.
  if (where?.source === 'extension-storage' || where?.source === 'user-data') o.log(`recorded in ${recordTorchEnv(envDir)}`);
  return { envDir, python, installed: !state.ready, cached: false, report };
}

function checkSpace(envDir: string, need: number): void {
  const free = freeBytes(envDir);
  if (free < need) {
    throw new SetupError(
      'no-disk-space',
      `only ${(free / 2 ** 30).toFixed(1)} GiB free at ${envDir}; the PyTorch engine's packages need about ${(need / 2 ** 30).toFixed(0)} GiB. Free some space, or set DPO_TORCH_ENV to a folder on a larger disk`,
    );
  }
}

function rethrow(err: unknown, problem: SetupProblem, what: string): never {
  if (err instanceof SetupError) throw err;
  throw new SetupError(problem, `${what}: ${(err as Error).message}`);
}

/** A one-line description of the devices a report found. */
export function describeDevices(t: TorchReport): string {
  return t.gpus.length > 0
    ? `CUDA ${t.cuda}: ${t.gpus.map((g) => `cuda:${g.index} ${g.name} (${(g.memoryBytes / 2 ** 30).toFixed(1)} GiB)`).join(', ')}`
    : `CPU only (${t.cpuThreads} threads; no CUDA device)`;
}

/** A short form for pickers: "2× NVIDIA H100 80GB HBM3, CUDA 12.8" or "CPU only (2 threads)". */
export function summarizeDevices(t: TorchReport): string {
  if (t.gpus.length === 0) return `CPU only (${t.cpuThreads} threads)`;
  const counts = new Map<string, number>();
  for (const g of t.gpus) counts.set(g.name, (counts.get(g.name) ?? 0) + 1);
  return `${[...counts].map(([name, n]) => `${n}× ${name}`).join(' + ')}, CUDA ${t.cuda}`;
}

export function describeTorch(r: SetupResult): string[] {
  const t = r.report;
  return [
    `torch environment: ${r.envDir} (${r.installed ? 'installed from python/requirements.txt' : 'up to date with python/requirements.txt'})`,
    `python ${t.python}, torch ${t.torch}, transformers ${t.transformers}, trl ${t.trl}, accelerate ${t.accelerate}, peft ${t.peft}`,
    `device: ${describeDevices(t)}`,
  ];
}
