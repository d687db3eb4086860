// The host's side of TensorBoard export: runs python/dpo_studio/export_metrics.py in the torch
// environment, once (`dpo export-metrics`) or beside a run with report_to ["tensorboard"] (the
// embedded engine's live logging; the torch engine writes its own in-process). Used by `dpo train`
// and the extension's run manager, as checkpoint-evals.ts is. Not the writer: that is the Python code.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DpoConfig } from '../protocol';
import { reportsTo } from '../protocol/report-to-config';
import { torchProcessEnv, torchPython } from './torch-env';

export const TENSORBOARD_DIR = 'tensorboard';
const MODULE = 'dpo_studio.export_metrics';

/** Where a run's event files go unless --out says otherwise. */
export function tensorboardDir(runDir: string): string {
  return path.join(runDir, TENSORBOARD_DIR);
}

export interface ExportResult {
  code: number | null;
  /** The exporter's closing line ("wrote N values of M metrics … to DIR"), or its error. */
  lines: string[];
}

function exporterArgs(runDir: string, out: string, follow: boolean): string[] {
  return ['-m', MODULE, '--run', path.resolve(runDir), '--out', path.resolve(out), ...(follow ? ['--follow'] : [])];
}

function collect(child: ChildProcess, onLine: (line: string) => void): Promise<ExportResult> {
  const lines: string[] = [];
  const take = (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n'))
      if (l.trim()) {
        lines.push(l);
        onLine(l);
      }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: -1, lines: [...lines, err.message] }));
    child.on('close', (code) => resolve({ code, lines }));
  });
}

/** `dpo export-metrics --to tensorboard`: the whole run as event files in `out` (re-export replaces them). */
export function exportToTensorBoard(
  runDir: string,
  out = tensorboardDir(runDir),
  python = torchPython(),
  onLine: (l: string) => void = () => undefined,
): Promise<ExportResult> {
  const child = spawn(python, exporterArgs(runDir, out, false), { env: torchProcessEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child, onLine);
}

export interface LiveExportHooks {
  log(line: string): void;
  /** Seam for tests: the interpreter (default: the torch environment's). */
  python?: string;
}

/**
 * report_to ["tensorboard"] for one run. On the embedded engine a follower process appends each new
 * metrics.jsonl line to <run>/tensorboard while the run goes; finish() (after the checkpoint
 * evaluations) closes its stdin and it exports the whole run once more. On the torch engine the engine
 * writes the live files itself, so finish() only re-exports when checkpoint evaluations added points.
 */
export class LiveMetricsExport {
  private child?: ChildProcess;
  private done?: Promise<ExportResult>;

  private constructor(
    private readonly runDir: string,
    private readonly config: DpoConfig,
    private readonly python: string,
    private readonly hooks: LiveExportHooks,
  ) {}

  /** The live export a run asks for, else undefined; without the torch environment one line says how to get it. */
  static forRun(runDir: string, config: DpoConfig, hooks: LiveExportHooks): LiveMetricsExport | undefined {
    if (!reportsTo(config.report_to, 'tensorboard')) return undefined;
    const python = hooks.python ?? torchPython();
    if (!fs.existsSync(python)) {
      hooks.log(
        `report_to ["tensorboard"]: no TensorBoard logging for this run: it needs the torch environment (${python} is missing); create it with: npx dpo setup-torch`,
      );
      return undefined;
    }
    const live = new LiveMetricsExport(runDir, config, python, hooks);
    if (config.engine !== 'torch') live.follow();
    return live;
  }

  private follow(): void {
    const child = spawn(this.python, exporterArgs(this.runDir, tensorboardDir(this.runDir), true), {
      env: torchProcessEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin?.on('error', () => undefined); // an exporter that died: its exit code says why
    this.child = child;
    this.done = collect(child, () => undefined);
    this.hooks.log(`TensorBoard: logging to ${tensorboardDir(this.runDir)} (tensorboard --logdir ${tensorboardDir(this.runDir)})`);
  }

  /** The run and its evaluations are over: the last points, then the exporter's closing line. */
  async finish(): Promise<void> {
    let result: ExportResult | undefined;
    if (this.child) {
      this.child.stdin?.end();
      result = await this.done;
      this.child = undefined;
    } else if (this.config.checkpoint_eval_prompts > 0) {
      result = await exportToTensorBoard(this.runDir, tensorboardDir(this.runDir), this.python);
    }
    if (!result) return;
    if (result.code === 0) this.hooks.log(`TensorBoard: ${result.lines[result.lines.length - 1] ?? 'exported'}`);
    else this.hooks.log(`TensorBoard export failed (exit ${result.code}): ${result.lines.slice(-3).join(' | ')}`);
  }
}
