// npm run bench:quality: does DPO here do what the paper's sentiment experiment shows? Runs the
// pipeline in bench/quality/ (SFT → sampled pairs labeled by the true reward → DPO at several β and
// preferred-FT), prints the reward/KL table for bench/RESULTS.md and draws the frontier as a PNG.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, describeBackend } from '../src/engine/backend';
import { timeStamp } from '../src/protocol';
import { QualityOptions, QualityResult, runQuality } from './quality/pipeline';
import { renderFrontier } from './quality/plot';
import { TASK_WORDS } from './quality/task';

/** The benchmark's settings, in one place; the unit test runs a smaller copy. */
export const QUALITY: Omit<QualityOptions, 'outDir' | 'backend' | 'log'> = {
  model: { family: 'gpt2', layers: 2, dModel: 64, heads: 4, maxPositions: 64, seed: 0, words: TASK_WORDS },
  seed: 1,
  sftReviews: 6000,
  sft: { learning_rate: 3e-3, num_train_epochs: 3, batch_size: 16, lr_scheduler_type: 'cosine', warmup_ratio: 0.05 },
  pairPrompts: 1500,
  dpo: { learning_rate: 5e-4, num_train_epochs: 3, batch_size: 16, lr_scheduler_type: 'cosine', warmup_ratio: 0.1 },
  betas: [0.05, 0.1, 0.5, 1, 5],
  preferredFt: { learning_rate: 1e-3, num_train_epochs: 4, batch_size: 16, lr_scheduler_type: 'cosine', warmup_ratio: 0.1 },
  evalPrompts: 128,
  samplesPerPrompt: 4,
  maxNewTokens: 40,
};

export function resultTable(r: QualityResult): string {
  const rows = r.policies.map(
    (p) =>
      `| ${p.name} | ${p.epoch} | ${p.reward.toFixed(3)} ± ${p.rewardSe.toFixed(3)} | ${p.kl.toFixed(3)} ± ${p.klSe.toFixed(3)} | ${p.tokens.toFixed(1)} | ${(p.finished * 100).toFixed(0)}% | ${p.trainSeconds.toFixed(0)} s |`,
  );
  return ['| policy | epoch | mean true reward | KL to SFT (nats/seq) | tokens/sample | ended | run time |', '|---|---|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}

async function main(): Promise<void> {
  // --replot <result.json>: draw the PNG again from a finished run's numbers.
  const replot = process.argv.indexOf('--replot');
  if (replot > 0) {
    await renderFrontier(JSON.parse(fs.readFileSync(process.argv[replot + 1], 'utf8')) as QualityResult, path.resolve('bench/quality-frontier.png'));
    return;
  }
  const backend = await selectBackend();
  console.log(describeBackend(backend));
  const outDir = path.resolve('bench/out', `quality-${timeStamp()}`);
  const result = await runQuality({ ...QUALITY, outDir, backend, log: (l) => console.log(l) });
  console.log(
    `\n${os.cpus()[0].model}, ${os.cpus().length} cores, ${backend.name}; ${new Date().toISOString().slice(0, 10)}; ${result.seconds.toFixed(0)} s in all`,
  );
  console.log(`pairs: ${result.pairs.written} (${result.pairs.flipped} labeled against the true reward, ${result.pairs.tied} ties)\n`);
  console.log(resultTable(result));
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(result, null, 2));
  const png = path.resolve('bench/quality-frontier.png');
  await renderFrontier(result, png);
  console.log(`\nfrontier: ${png}; run folders: ${outDir}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
