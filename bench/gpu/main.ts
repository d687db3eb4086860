// npm run bench:gpu: the GPU check (issue #29). Finds a Python with torch/transformers/accelerate
// (and TRL/PEFT/datasets, installed from a carried wheels folder when missing), runs
// bench/gpu/gpu_bench.py (torch engine against bare TRL), adds the embedded engine on WebGPU where a
// hardware adapter exists, and writes report.json and report.md. Tiny CPU shapes without CUDA.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { torchPython } from '../../src/node/torch-env';
import { GpuBenchReport, WebGpuRow, reportMarkdown } from './report';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'bench', 'gpu', 'gpu_bench.py');
/** What gpu_bench.py imports; TRL, PEFT and datasets are what a GPU machine's own env may lack. */
const MODULES = ['torch', 'transformers', 'accelerate', 'trl', 'peft', 'datasets', 'jsonschema'];

export interface GpuBenchOptions {
  out: string;
  /** Tiny CPU shapes even where CUDA exists (always without CUDA). */
  tiny: boolean;
  log: (line: string) => void;
}

/** DPO_BENCH_PYTHON, else the project's torch env (`dpo setup-torch`), else python3 on PATH. */
export function benchPython(): string {
  if (process.env.DPO_BENCH_PYTHON) return process.env.DPO_BENCH_PYTHON;
  return fs.existsSync(torchPython()) ? torchPython() : 'python3';
}

function missingModules(python: string, env: NodeJS.ProcessEnv): string[] {
  const probe = `import importlib.util, json; print(json.dumps([m for m in ${JSON.stringify(MODULES)} if importlib.util.find_spec(m) is None]))`;
  const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${python} did not run (${(r.stderr || String(r.error)).trim()}): set DPO_BENCH_PYTHON to a Python with torch`);
  return JSON.parse(r.stdout.trim()) as string[];
}

/**
 * The environment gpu_bench.py runs in: when modules are missing, the wheels in DPO_BENCH_WHEELS (default
 * bench/gpu/wheels, made by bench/gpu/collect-wheels.sh) go into a private folder on PYTHONPATH, with
 * no index and no dependencies resolved (nothing is downloaded); the machine's own packages are untouched.
 */
export function pythonEnvironment(python: string, scratch: string, log: (line: string) => void): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  let missing = missingModules(python, env);
  if (missing.length === 0) return env;
  const wheels = process.env.DPO_BENCH_WHEELS ?? path.join(ROOT, 'bench', 'gpu', 'wheels');
  const files = fs.existsSync(wheels) ? fs.readdirSync(wheels).filter((f) => f.endsWith('.whl')) : [];
  if (files.length > 0) {
    const site = path.join(scratch, 'site');
    log(`installing ${files.length} wheel(s) from ${wheels} into ${site} for: ${missing.join(', ')}`);
    const r = spawnSync(python, ['-m', 'pip', 'install', '--no-index', '--no-deps', '--quiet', '--target', site, ...files.map((f) => path.join(wheels, f))], {
      encoding: 'utf8',
      env,
    });
    if (r.status !== 0) throw new Error(`pip could not install the wheels in ${wheels}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    env.PYTHONPATH = [site, env.PYTHONPATH].filter(Boolean).join(path.delimiter);
    missing = missingModules(python, env);
  }
  const base = missing.filter((m) => ['torch', 'transformers', 'accelerate'].includes(m));
  if (base.length > 0) throw new Error(`${python} lacks ${base.join(', ')}, which bench:gpu does not carry: set DPO_BENCH_PYTHON to a Python with them`);
  if (missing.length > 0) {
    throw new Error(
      `${python} lacks ${missing.join(', ')}: run bench/gpu/collect-wheels.sh where they are installed and carry bench/gpu/wheels ` +
        `(or set DPO_BENCH_WHEELS to such a folder, or DPO_BENCH_PYTHON to a Python that has them)`,
    );
  }
  return env;
}

/** The embedded engine on WebGPU against the torch engine, on the same model; skipped with the reason where it cannot run. */
async function webgpuRow(torch: Omit<GpuBenchReport, 'webgpu' | 'node'>, out: string, log: (line: string) => void): Promise<WebGpuRow> {
  if (!torch.cuda) return { skipped: 'no CUDA device (tiny CPU mode): a software WebGPU adapter measures no GPU' };
  const { selectBackend } = await import('../../src/engine/backend');
  let backend;
  try {
    backend = await selectBackend('webgpu');
  } catch (err) {
    return { skipped: `Node + WebGPU (Dawn) found no usable adapter: ${(err as Error).message.split('\n')[0]}` };
  }
  if (backend.adapter?.software) return { skipped: `the WebGPU adapter is a software one (${backend.adapter.description})` };
  const { resolveConfig } = await import('../../src/protocol');
  const { Trainer } = await import('../../src/engine/train/trainer');
  const maxLength = torch.rows[0]?.max_length ?? 1024;
  const config = resolveConfig({
    model: torch.model_dir,
    data: path.join(out, 'pairs-lora.jsonl'),
    output_dir: path.join(out, 'embedded-webgpu'),
    batch_size: 1,
    max_length: maxLength,
    lora_r: 16,
    lora_alpha: 32,
    max_steps: 4,
    eval_fraction: 0,
    save_steps: 100000,
  });
  const stamps: number[] = [];
  try {
    await Trainer.create(config, { backend, events: { onMetrics: (r) => (r.split === 'train' ? stamps.push(performance.now()) : undefined) } }).run();
  } catch (err) {
    return { skipped: `the embedded engine did not run this model on ${backend.adapter?.description ?? 'webgpu'}: ${(err as Error).message.split('\n')[0]}` };
  }
  const gaps = stamps.slice(1).map((t, i) => (t - stamps[i]) / 1000);
  const stepSeconds = gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  log(`embedded engine on webgpu: ${stepSeconds.toFixed(2)} s per step`);
  return {
    adapter: backend.adapter?.description ?? 'webgpu',
    method: 'LoRA r16',
    batch: 1,
    max_length: maxLength,
    dtype: 'fp32',
    step_seconds: stepSeconds,
    tokens_per_second: (2 * maxLength) / stepSeconds,
  };
}

/** Runs the whole check; returns the report it wrote to out/report.json (and report.md). */
export async function runGpuBench(o: GpuBenchOptions): Promise<GpuBenchReport> {
  fs.mkdirSync(o.out, { recursive: true });
  const python = benchPython();
  const env = pythonEnvironment(python, o.out, o.log);
  o.log(`python: ${python}`);
  const r = spawnSync(python, [SCRIPT, 'all', '--out', o.out, ...(o.tiny ? ['--tiny'] : [])], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`gpu_bench.py failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n')}`);
  const torch = JSON.parse(fs.readFileSync(path.join(o.out, 'torch-report.json'), 'utf8')) as Omit<GpuBenchReport, 'webgpu' | 'node'>;
  const write = (r: GpuBenchReport) => {
    fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify(r, null, 2));
    fs.writeFileSync(path.join(o.out, 'report.md'), reportMarkdown(r));
  };
  const node = { version: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length };
  // Written before the WebGPU run too: a GPU driver that takes the process down keeps the torch rows.
  write({ ...torch, webgpu: { skipped: 'the WebGPU run did not finish (the process ended during it)' }, node });
  const report: GpuBenchReport = { ...torch, webgpu: await webgpuRow(torch, o.out, o.log), node };
  write(report);
  return report;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.resolve('bench/out', `gpu-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const report = await runGpuBench({ out, tiny: args.includes('--tiny'), log: (l) => console.log(l) });
  console.log(reportMarkdown(report));
  console.log(`wrote ${path.join(out, 'report.json')} and report.md`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
