// The child process of test/unit/engine/threads.test.ts: three DPO steps of a tiny model on wasm
// with the thread count given, a checkpoint after each, and the tensor count per step written as
// JSON. A child, because wasm's thread pool is made once per process.
// Run by node --test as a file too (it lives under test/): without arguments it does nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../../../src/protocol';
import { selectBackend } from '../../../src/engine/backend';
import { Trainer } from '../../../src/engine/train/trainer';

export interface ThreadStepReport {
  threads: number;
  device: string;
  numTensors: number[];
  losses: number[];
}

async function main(root: string, threads: number, out: string): Promise<void> {
  const backend = await selectBackend('wasm', threads);
  const report: ThreadStepReport = { threads: Number(backend.threads), device: '', numTensors: [], losses: [] };
  const config = resolveConfig({
    model: path.join(root, 'model'),
    data: path.join(root, 'pairs.jsonl'),
    output_dir: path.join(root, `run-${threads}`),
    batch_size: 4,
    learning_rate: 1e-3,
    max_steps: 3,
    eval_fraction: 0,
    save_steps: 1,
    save_total_limit: null,
    warmup_ratio: 0,
    seed: 3,
    threads,
  });
  const trainer = Trainer.create(config, {
    backend,
    events: {
      onMetrics: ({ values }) => {
        report.numTensors.push(values['memory/num_tensors']);
        report.losses.push(values.loss);
      },
    },
  });
  await trainer.run();
  report.device = JSON.parse(fs.readFileSync(path.join(root, `run-${threads}`, 'metrics.jsonl'), 'utf8').split('\n')[0]).device ?? '';
  fs.writeFileSync(out, JSON.stringify(report));
}

if (require.main === module && process.argv.length >= 5) {
  main(process.argv[2], Number(process.argv[3]), process.argv[4]).catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
