// `dpo setup-torch`: creates or updates the PyTorch engine's virtual environment with the exact pins
// of python/requirements.txt. A stamp holding the file's hash skips the install when nothing changed;
// an existing environment without a stamp is reused (pip finds everything satisfied). pip is told not
// to wait for an unreachable index (--retries 0 --timeout 5), so offline wheel sets work.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TORCH_REQUIREMENTS, TORCH_STAMP, torchEnvDir, torchProcessEnv, torchPython } from '../node/torch-env';

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
  report: TorchReport;
}

export function requirementsHash(file = TORCH_REQUIREMENTS): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function run(cmd: string, args: string[], log: (line: string) => void, env?: NodeJS.ProcessEnv): string {
  log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  return r.stdout;
}

/** Versions and devices as the environment sees them. */
export function torchReport(python: string): TorchReport {
  return JSON.parse(run(python, ['-m', 'dpo_studio.env_report'], () => undefined, torchProcessEnv()).trim().split('\n').pop()!) as TorchReport;
}

export function setupTorch(options: { python?: string; envDir?: string; log: (line: string) => void }): SetupResult {
  const envDir = options.envDir ?? torchEnvDir();
  const python = torchPython(envDir);
  const stamp = path.join(envDir, TORCH_STAMP);
  const hash = requirementsHash();
  const fresh = fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash;
  if (!fresh) {
    if (!fs.existsSync(python)) {
      fs.mkdirSync(path.dirname(envDir), { recursive: true });
      run(options.python ?? (process.platform === 'win32' ? 'python' : 'python3'), ['-m', 'venv', envDir], options.log);
    }
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '0', '--timeout', '5', '-r', TORCH_REQUIREMENTS], options.log);
    fs.writeFileSync(stamp, hash + '\n');
  }
  return { envDir, python, installed: !fresh, report: torchReport(python) };
}

export function describeTorch(r: SetupResult): string[] {
  const t = r.report;
  const device = t.gpus.length > 0
    ? `CUDA ${t.cuda}: ${t.gpus.map((g) => `cuda:${g.index} ${g.name} (${(g.memoryBytes / 2 ** 30).toFixed(1)} GiB)`).join(', ')}`
    : `CPU only (${t.cpuThreads} threads; no CUDA device)`;
  return [
    `torch environment: ${r.envDir} (${r.installed ? 'installed from python/requirements.txt' : 'up to date with python/requirements.txt'})`,
    `python ${t.python}, torch ${t.torch}, transformers ${t.transformers}, trl ${t.trl}, accelerate ${t.accelerate}, peft ${t.peft}`,
    `device: ${device}`,
  ];
}
