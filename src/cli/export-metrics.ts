// `dpo export-metrics --run DIR --to tensorboard [--out DIR]`: a run folder of either engine as
// TensorBoard event files, written by the exporter in the torch environment (src/node/metrics-export.ts).
// Not live logging during a run: that is the run config's report_to.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { REPORT_TARGETS } from '../protocol/report-to-config';
import { exportToTensorBoard, tensorboardDir } from '../node/metrics-export';
import { requireTorchPython } from '../node/torch-env';

export function addExportMetricsCommand(program: Command, log: (line: string) => void): void {
  program
    .command('export-metrics')
    .description(
      "write a run's metrics as TensorBoard event files (train/…, eval/…, gen/… as the metrics panel names them; config.json as hyperparameters; warnings as text); a re-export replaces the files",
    )
    .requiredOption('--run <dir>', 'the run folder (metrics.jsonl, config.json), of either engine')
    .addOption(new Option('--to <tracker>', 'where to').choices([...REPORT_TARGETS]).default('tensorboard'))
    .option('--out <dir>', 'folder for the event files (default: <run>/tensorboard)')
    .action(async (o: { run: string; to: string; out?: string }) => {
      const run = path.resolve(o.run);
      if (!fs.existsSync(path.join(run, 'metrics.jsonl'))) throw new Error(`${run}: no metrics.jsonl; give the folder of a run (the --out of dpo train)`);
      const out = path.resolve(o.out ?? tensorboardDir(run));
      const r = await exportToTensorBoard(run, out, requireTorchPython(), log);
      if (r.code !== 0) throw new Error(`the exporter failed (exit ${r.code})`);
      log(`see it: tensorboard --logdir ${out}`);
    });
}
