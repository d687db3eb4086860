// The report of `npm run bench:gpu`: the fields gpu_bench.py writes (torch engine and bare TRL rows),
// the embedded engine's WebGPU row, and the markdown table made from them. No measuring here.

export interface TorchRow {
  engine: string;
  method: string;
  processes: number;
  batch_per_process: number;
  max_length: number;
  dtype: string;
  steps: number;
  /** The batch search's tries (bare TRL, 1 process, CUDA only): batch, oom, peak memory. */
  batch_search: { batch: number; oom: boolean; peak_memory_bytes?: number }[] | null;
  error?: string;
  step_seconds?: number;
  tokens_per_second?: number;
  peak_memory_bytes?: number;
  peak_memory_kind?: string;
  flops_per_token?: number;
  /** null where the device has no known peak (CPU, or an unlisted GPU without DPO_BENCH_PEAK_TFLOPS). */
  mfu?: number | null;
}

export type WebGpuRow =
  { skipped: string } | { adapter: string; method: string; batch: number; max_length: number; dtype: string; step_seconds: number; tokens_per_second: number };

export interface GpuBenchReport {
  mode: 'tiny' | 'gpu';
  cuda: boolean;
  gpus: number;
  device: string;
  versions: Record<string, string | null>;
  model: { shape: Record<string, number | boolean>; parameters: number; family: string };
  peak_flops: number | null;
  peak_flops_source: string;
  flop_formula: string;
  rows: TorchRow[];
  seconds: number;
  model_dir: string;
  webgpu: WebGpuRow;
  node: { version: string; cpu: string; cores: number };
}

const gib = (b: number | undefined) => (b === undefined ? '' : `${(b / 2 ** 30).toFixed(2)} GiB`);

export function reportMarkdown(r: GpuBenchReport): string {
  const shape = r.model.shape;
  const lines = [
    `bench:gpu (${r.mode}) on ${r.device}, ${r.gpus} GPU(s); ${r.model.family}, ${r.model.parameters.toLocaleString('en-US')} parameters ` +
      `(d ${shape.hidden_size}, ${shape.num_hidden_layers} layers); ${Object.entries(r.versions)
        .map(([k, v]) => `${k} ${v ?? 'missing'}`)
        .join(', ')}; ${r.seconds.toFixed(0)} s`,
    '',
    `MFU: ${r.flop_formula}; peak ${r.peak_flops ? `${(r.peak_flops / 1e12).toFixed(0)} TFLOP/s (${r.peak_flops_source})` : `none (${r.peak_flops_source})`}.`,
    '',
    '| engine | method | processes | batch/process | max_length | dtype | s/step | tokens/s | peak memory | MFU |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map((row) =>
      row.error
        ? `| ${row.engine} | ${row.method} | ${row.processes} | ${row.batch_per_process} | ${row.max_length} | ${row.dtype} | ${row.error} | | | |`
        : `| ${row.engine} | ${row.method} | ${row.processes} | ${row.batch_per_process} | ${row.max_length} | ${row.dtype} | ` +
          `${row.step_seconds!.toFixed(3)} | ${row.tokens_per_second!.toFixed(0)} | ${gib(row.peak_memory_bytes)} | ` +
          `${row.mfu === null || row.mfu === undefined ? 'n/a' : `${(100 * row.mfu).toFixed(1)}%`} |`,
    ),
    '',
    'skipped' in r.webgpu
      ? `Embedded engine on WebGPU: skipped: ${r.webgpu.skipped}.`
      : `Embedded engine on WebGPU (${r.webgpu.adapter}, ${r.webgpu.method}, batch ${r.webgpu.batch}, ${r.webgpu.max_length} tokens, ${r.webgpu.dtype}): ` +
        `${r.webgpu.step_seconds.toFixed(3)} s/step, ${r.webgpu.tokens_per_second.toFixed(0)} tokens/s.`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * FLOPs per trained token (gpu_bench.py's formula, restated to check it): F = 2N + 4·L·d·T per forward
 * pass; full DPO 4F (policy forward and backward, reference forward), LoRA 3F (no weight gradients).
 */
export function flopsPerToken(shape: Record<string, number | boolean>, parameters: number, maxLength: number, lora: boolean): number {
  const forward = 2 * parameters + 4 * Number(shape.num_hidden_layers) * Number(shape.hidden_size) * maxLength;
  return (lora ? 3 : 4) * forward;
}
