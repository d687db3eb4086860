// npm run bench:eval-frontier: the paper's reward–KL frontier (its Fig. 2) for the lexicon-reward
// task of bench/quality, measured through `dpo eval` (runEval, the command's own code, on the
// embedded engine) for several β and several training seeds. The true reward of each answer is the
// task's lexicon score of its text in results.jsonl; KL and its interval are summary.json's.
// Prints the table for bench/RESULTS.md and draws bench/eval-frontier.png.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, describeBackend } from '../src/engine/backend';
import { makeTinyModel } from '../src/engine/model/tiny';
import { loadModel } from '../src/engine/model/checkpoint';
import { loadTokenizer } from '../src/engine/tokenizer/tokenizer';
import { EVAL_FILES, EvalResultLine, EvalSummary, parseEvalResultLine, parseLines, timeStamp } from '../src/protocol';
import { runEval } from '../src/node/eval/run-eval';
import { PolicyResult, QualityOptions, QualityResult, samplePairs, train } from './quality/pipeline';
import { renderFrontier } from './quality/plot';
import { QUALITY } from './quality';
import { sampleReviews, trueReward } from './quality/task';

/** Smaller than bench:quality (each point is a `dpo eval` of its own engine process, sampling the reference too). */
export const FRONTIER = {
  betas: [0.1, 0.5, 1, 5],
  seeds: [1, 2],
  evalPrompts: 48,
  samples: 2,
  maxNewTokens: 40,
};

const meanSe = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean: m, se: Math.sqrt(v / xs.length) };
};

interface Point extends PolicyResult {
  seed?: number;
  klCi: [number, number];
  rewardModelFree: true;
}

async function evaluate(out: string, model: string, reference: string, prompts: string): Promise<{ lines: EvalResultLine[]; summary: EvalSummary }> {
  const summary = await runEval(
    { model, reference, prompts, out, samples: FRONTIER.samples, maxNewTokens: FRONTIER.maxNewTokens, seed: 5, temperature: 1, engine: 'tfjs' },
    { log: () => undefined },
  );
  const parsed = parseLines(fs.readFileSync(path.join(out, EVAL_FILES.results), 'utf8'), parseEvalResultLine, true);
  if (parsed.problems.length) throw new Error(`${out}: ${parsed.problems[0].error}`);
  return { lines: parsed.records, summary };
}

function point(method: string, name: string, epoch: number, e: { lines: EvalResultLine[]; summary: EvalSummary }, extra: Partial<Point> = {}): Point {
  const answers = e.lines.filter((l) => l.model === 'policy');
  const r = meanSe(answers.map((l) => trueReward(l.text)));
  const s = e.summary;
  return {
    method,
    name,
    epoch,
    reward: r.mean,
    rewardSe: r.se,
    kl: s.kl,
    // The plot draws ±klSe; summary.json's interval is ±1.96 SE over prompts.
    klSe: (s.kl_ci[1] - s.kl_ci[0]) / (2 * 1.96),
    klCi: s.kl_ci,
    tokens: s.models.policy.mean_length,
    finished: answers.filter((l) => l.finish_reason === 'eos').length / answers.length,
    trainSeconds: 0,
    rewardModelFree: true,
    ...extra,
  };
}

async function main(): Promise<void> {
  const backend = await selectBackend(undefined, 1);
  const outDir = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.join(os.tmpdir(), `dpo-eval-frontier-${timeStamp()}`);
  fs.mkdirSync(outDir, { recursive: true });
  const dir = (n: string) => path.join(outDir, n);
  const log = (l: string) => process.stderr.write(`${l}\n`);
  log(`${describeBackend(backend)}; ${outDir}`);
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const o: QualityOptions = { ...QUALITY, outDir, backend, log };
  // An output folder from an earlier run keeps its trained models (--reuse): only the evaluations are redone.
  const reuse = process.argv.includes('--reuse');
  const trained = (values: Record<string, unknown>, examples: number, seed: number) => {
    const runDir = String(values.output_dir);
    if (reuse && fs.existsSync(path.join(runDir, 'final'))) {
      const perEpoch = Math.ceil(examples / Number(values.batch_size ?? 8));
      const steps = fs
        .readdirSync(path.join(runDir, 'checkpoints'))
        .map((n) => Number(/^step-(\d+)$/.exec(n)?.[1]))
        .filter((n) => n > 0 && n % perEpoch === 0)
        .sort((a, b) => a - b);
      return Promise.resolve({ epochDirs: [...steps.map((n) => path.join(runDir, 'checkpoints', `step-${n}`)), path.join(runDir, 'final')], seconds: 0 });
    }
    return train({ ...o, seed }, values, examples);
  };
  const again = reuse && fs.existsSync(dir('pairs.jsonl'));
  // The evaluations are redone from scratch (dpo eval would resume a folder made with the same options).
  if (reuse) for (const n of fs.readdirSync(outDir)) if (n.startsWith('eval-')) fs.rmSync(dir(n), { recursive: true });
  if (!again) {
    makeTinyModel(dir('base-model'), o.model);
    fs.writeFileSync(
      dir('sft.jsonl'),
      sampleReviews(o.sftReviews, o.seed)
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
  }
  log(`SFT on ${o.sftReviews} reviews`);
  const sft = await trained({ mode: 'sft', model: dir('base-model'), data: dir('sft.jsonl'), output_dir: dir('sft'), ...o.sft }, o.sftReviews, o.seed);
  const sftDir = sft.epochDirs[sft.epochDirs.length - 1];
  const { model: reference } = loadModel(sftDir);
  const pairs = again
    ? { written: fs.readFileSync(dir('pairs.jsonl'), 'utf8').trim().split('\n').length, skipped: 0, flipped: 0, tied: 0 }
    : await samplePairs(o, reference, loadTokenizer(sftDir), dir('pairs.jsonl'));
  reference.dispose();
  log(`${pairs.written} pairs (${pairs.flipped} against the true reward, ${pairs.tied} ties)`);
  const prompts = dir('prompts.jsonl');
  fs.writeFileSync(
    prompts,
    sampleReviews(FRONTIER.evalPrompts, o.seed + 2)
      .map((r) => JSON.stringify({ prompt: r.prompt }))
      .join('\n') + '\n',
  );
  const points: Point[] = [];
  // The SFT model against itself: KL 0 is the check that sampling and scoring agree.
  const self = await evaluate(dir('eval-sft'), sftDir, sftDir, prompts);
  points.push(point('SFT', 'SFT', 0, self));
  for (const beta of FRONTIER.betas)
    for (const seed of FRONTIER.seeds) {
      const name = `DPO β=${beta} seed ${seed}`;
      log(name);
      const run = await trained(
        {
          mode: 'dpo',
          model: sftDir,
          data: dir('pairs.jsonl'),
          output_dir: dir(`dpo-beta-${beta}-seed-${seed}`),
          beta,
          precompute_ref_log_probs: true,
          ...o.dpo,
        },
        pairs.written,
        seed,
      );
      for (const e of [0, run.epochDirs.length - 1]) {
        const p = point('DPO', name, e + 1, await evaluate(dir(`eval-beta-${beta}-seed-${seed}-epoch-${e + 1}`), run.epochDirs[e], sftDir, prompts), {
          beta,
          seed,
          trainSeconds: run.seconds,
        });
        points.push(p);
        log(
          `  epoch ${e + 1}: true reward ${p.reward.toFixed(3)} ± ${p.rewardSe.toFixed(3)}, KL ${p.kl.toFixed(3)} [${p.klCi.map((x) => x.toFixed(3)).join(', ')}]`,
        );
      }
    }
  const cpu = process.cpuUsage(cpu0);
  const result: QualityResult = { pairs, policies: points, seconds: (Date.now() - started) / 1000 };
  fs.writeFileSync(dir('result.json'), JSON.stringify(result, null, 2));
  const png = path.join(__dirname, '..', '..', 'bench', 'eval-frontier.png');
  await renderFrontier(result, png);
  console.log(
    [
      '| policy | epoch | mean true reward | KL (summary.json, 95% interval) | tokens | ended |',
      '|---|---|---|---|---|---|',
      ...points.map(
        (p) =>
          `| ${p.name} | ${p.epoch} | ${p.reward.toFixed(2)} ± ${p.rewardSe.toFixed(2)} | ${p.kl.toFixed(2)} [${p.klCi[0].toFixed(2)}, ${p.klCi[1].toFixed(2)}] | ${p.tokens.toFixed(1)} | ${(p.finished * 100).toFixed(0)}% |`,
      ),
    ].join('\n'),
  );
  console.log(
    `\n${result.seconds.toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} CPU-s in this process (the engines' own processes not counted); ${png}`,
  );
}

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
