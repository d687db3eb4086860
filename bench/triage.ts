// npm run bench:triage: does `dpo triage` find mislabeled pairs? On the quality task (a known true
// reward): flip 20% of the labels, DPO-train, triage, report precision/recall of the flipped pairs in
// the top 20%, relabel the flagged pairs and retrain, and compare true rewards (bench/RESULTS.md).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, describeBackend } from '../src/engine/backend';
import { timeStamp } from '../src/protocol';
import { QUALITY } from './quality';
import { TriageBenchOptions, TriageBenchResult, runTriageBench } from './quality/triage';

/** The benchmark's settings; the unit test runs a smaller copy. */
export const TRIAGE_BENCH: Omit<TriageBenchOptions, 'outDir' | 'backend' | 'log'> = {
  model: QUALITY.model,
  seed: 1,
  sftReviews: 3000,
  sft: { ...QUALITY.sft, num_train_epochs: 2 },
  pairPrompts: 1000,
  flipRate: 0.2,
  // β 0.5: at β 0.1 DPO on the relabeled (nearly clean) labels of this task diverged (bench/RESULTS.md).
  dpo: { ...QUALITY.dpo, beta: 0.5, learning_rate: 1e-3, num_train_epochs: 2 },
  withCheckpoints: true,
  clean: true,
  evalPrompts: 64,
  samplesPerPrompt: 4,
  maxNewTokens: 40,
};

export function triageTable(r: TriageBenchResult): string {
  const lines = [
    `pairs ${r.pairs}, flipped on purpose ${r.flipped}, flagged (top 20%) ${r.flagged}`,
    '',
    '| triage | precision in top 20% | recall in top 20% |',
    '|---|---|---|',
    `| final model | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} |`,
    ...(r.withCheckpoints
      ? [`| final + per-epoch checkpoints (mean σ(−margin)) | ${r.withCheckpoints.precision.toFixed(3)} | ${r.withCheckpoints.recall.toFixed(3)} |`]
      : []),
    '',
    '| policy | label noise of its data | mean true reward | KL to SFT (nats/seq) |',
    '|---|---|---|---|',
    ...r.policies.map(
      (p) =>
        `| ${p.name} | ${(p.labelNoise * 100).toFixed(1)}% | ${p.reward.toFixed(3)} ± ${p.rewardSe.toFixed(3)} | ${p.kl.toFixed(3)} ± ${p.klSe.toFixed(3)} |`,
    ),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const backend = await selectBackend();
  console.log(describeBackend(backend));
  const outDir = path.resolve('bench/out', `triage-${timeStamp()}`);
  const result = await runTriageBench({ ...TRIAGE_BENCH, outDir, backend, log: (l) => console.log(l) });
  console.log(
    `\n${os.cpus()[0].model}, ${os.cpus().length} cores, ${backend.name}; ${new Date().toISOString().slice(0, 10)}; ${result.seconds.toFixed(0)} s in all\n`,
  );
  console.log(triageTable(result));
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(result, null, 2));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
