// `dpo demo` (npm run demo): the whole job on what ships with the project. A tiny model is made,
// fine-tuned on the chosen answers of examples/preferences.jsonl (the reference, as the paper
// recommends), then tuned with DPO; the held-out reward margin and accuracy show what DPO learned.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetricsRecord, timeStamp } from '../protocol';
import { makeTinyModel, TINY_MODEL_DEFAULTS } from '../engine/model/tiny';
import { runTraining } from './train';
import { runProbe } from './probe';
import { metricsTable } from './progress';
import { PACKAGE_ROOT } from '../node/package-root';
import { TINY_COMMON, TINY_DPO_STAGE, TINY_SFT_STAGE } from '../node/tiny-recipe';

export const EXAMPLE_DATA = path.join(PACKAGE_ROOT, 'examples', 'preferences.jsonl');

/** The demo's settings, in one place: small enough for 2 CPU cores in well under 3 minutes. */
export const DEMO = {
  model: { ...TINY_MODEL_DEFAULTS, family: 'gpt2' as const, layers: 2, dModel: 64, heads: 4, maxPositions: 128, seed: 0 },
  sft: TINY_SFT_STAGE,
  dpo: TINY_DPO_STAGE,
  common: TINY_COMMON,
};

export async function runDemo(outArg: string | undefined, log: (line: string) => void): Promise<boolean> {
  const out = path.resolve(outArg ?? path.join('.dpo', `demo-${timeStamp()}`));
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new Error(`${out} is not empty; pass another --out`);
  const started = Date.now();
  const base = path.join(out, 'tiny-model');
  makeTinyModel(base, DEMO.model);
  log(`1/3 made a tiny GPT-2 (${DEMO.model.layers} layers, d ${DEMO.model.dModel}) in ${base}`);
  log(`2/3 SFT on the chosen answers of ${EXAMPLE_DATA} (this model becomes the reference)`);
  const sft = await runTraining({
    mode: 'sft',
    source: 'demo',
    quiet: false,
    values: { ...DEMO.common, ...DEMO.sft, model: base, data: EXAMPLE_DATA, output_dir: path.join(out, 'sft') },
  });
  log(`3/3 DPO from the SFT model (β = ${DEMO.dpo.beta}, reference log-probs precomputed)`);
  const evals: MetricsRecord[] = [];
  const dpo = await runTraining({
    mode: 'dpo',
    source: 'demo',
    quiet: false,
    values: { ...DEMO.common, ...DEMO.dpo, model: sft.finalDir!, data: EXAMPLE_DATA, output_dir: path.join(out, 'dpo') },
    onMetrics: (m) => {
      if (m.split === 'eval') evals.push(m);
    },
  });
  log('\nheld-out pairs (eval split), as DPO trained:');
  log(metricsTable(evals, ['eval_loss', 'eval_rewards/chosen', 'eval_rewards/rejected', 'eval_rewards/margins', 'eval_rewards/accuracies']));
  const first = evals[0].values;
  const last = evals[evals.length - 1].values;
  const rose = last['eval_rewards/margins'] > first['eval_rewards/margins'] && last['eval_rewards/accuracies'] > first['eval_rewards/accuracies'];
  log(
    `\nheld-out reward margin ${first['eval_rewards/margins'].toFixed(4)} -> ${last['eval_rewards/margins'].toFixed(4)}, ` +
      `accuracy ${first['eval_rewards/accuracies'].toFixed(2)} -> ${last['eval_rewards/accuracies'].toFixed(2)}, ` +
      `loss ${first.eval_loss.toFixed(4)} -> ${last.eval_loss.toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  log(rose ? 'DPO raised the margin and the accuracy on pairs it never trained on.' : 'WARNING: the held-out margin or accuracy did not rise.');
  log(`runs: ${sft.runDir} and ${dpo.runDir}; tuned model: ${dpo.finalDir}`);
  // What the tuned model writes: greedy answers to two of the example prompts, the reference's beside them.
  for (const prompt of DEMO_PROBES) {
    log(`\nprobe (greedy): ${JSON.stringify(prompt)}`);
    let line = '';
    await runProbe({
      modelDir: dpo.finalDir!,
      refDir: sft.finalDir!,
      prompt,
      chat: false,
      beta: DEMO.dpo.beta,
      generate: { maxNewTokens: 24, temperature: 0 },
      write: (text) => {
        line += text;
        for (let i = line.indexOf('\n'); i >= 0; i = line.indexOf('\n')) {
          log(`  ${line.slice(0, i)}`);
          line = line.slice(i + 1);
        }
      },
    });
  }
  return rose;
}

/** Prompts of examples/preferences.jsonl the demo probes its tuned model with. */
export const DEMO_PROBES = ['Q: Which color is the grass?\nA:', 'User: Which color is the sky?\nAssistant:'];
