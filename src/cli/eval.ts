// `dpo eval`: sample answers from a policy and its reference, judge them, and write results.jsonl,
// summary.json and eval.json into --out (the work is src/node/eval/run-eval.ts). Progress goes to
// stderr, the summary's headline figures to stdout; Ctrl-C stops cleanly and a re-run resumes.
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ENGINE_NAMES, EvalSummary, formatDuration } from '../protocol';
import { EVAL_DEFAULTS, runEval } from '../node/eval/run-eval';

function int(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

const fmt = (x: number) => x.toFixed(4);

/** The figures a user reads first, one line per judge, for stdout. */
export function summaryLines(s: EvalSummary): string[] {
  const lines = [
    `KL(policy||reference) ${fmt(s.kl)} [${fmt(s.kl_ci[0])}, ${fmt(s.kl_ci[1])}]${s.kl_exact_sampler ? '' : ' (of the sampler: temperature != 1)'}; ${s.prompts} prompt(s) x ${s.samples} sample(s)`,
  ];
  for (const [name, j] of Object.entries(s.judges)) {
    const lc = j.lc_win_rate !== undefined ? `, length-controlled ${fmt(j.lc_win_rate)}` : '';
    const dep = j.independent ? '' : ' (not independent: a DPO run judging)';
    lines.push(`${name}: win rate ${fmt(j.win_rate)} [${fmt(j.win_rate_ci[0])}, ${fmt(j.win_rate_ci[1])}] (${j.wins}/${j.ties}/${j.losses} w/t/l${lc})${dep}`);
  }
  return lines;
}

export function addEvalCommand(program: Command, log: (line: string) => void): void {
  program
    .command('eval')
    .description('sample answers from a policy and its reference with fixed seeds, judge them, and write results.jsonl and summary.json (win rate, KL)')
    .requiredOption('--model <dir>', 'the policy: a model folder, a run folder (its final/, else newest checkpoint) or a checkpoint')
    .option('--reference <dir>', "the reference model (default: the run's reference_model, else its base model)")
    .option('--prompts <jsonl>', 'prompts: {"prompt": text or [messages]} or preference lines (default: the run\'s eval split)')
    .requiredOption('--out <dir>', 'the evaluation folder (a re-run with the same options resumes it)')
    .option('--samples <k>', 'answers per prompt and model', int(1), EVAL_DEFAULTS.samples)
    .option('--max-new-tokens <n>', 'tokens per answer at most', int(1), EVAL_DEFAULTS.maxNewTokens)
    .option('--seed <s>', 'sample s of every prompt uses seed s + this, for both models', int(0), EVAL_DEFAULTS.seed)
    .option('--temperature <t>', 'sampling temperature; KL(policy||reference) is exact only at 1', positive, EVAL_DEFAULTS.temperature)
    .option('--limit <n>', 'only the first n prompts', int(1))
    .option('--reward-model <dir>', 'a *ForSequenceClassification folder with one label (what TRL RewardTrainer writes) judging both answers')
    .option('--implicit-run <dir>', "another DPO run's implicit reward as a judge (reported as not independent)")
    .option('--judge-url <url>', 'an OpenAI-compatible endpoint (…/v1) used as a pairwise LLM judge')
    .option('--judge-model <name>', "the judge endpoint's model")
    .option('--judge-key-env <var>', "environment variable holding the judge's API key (never written anywhere)", 'DPO_JUDGE_API_KEY')
    .option('--judge-prompt <file>', "the judge prompt's template (default: built in)")
    .option('--tie-margin <x>', 'reward and implicit-reward differences below this are ties', positive, EVAL_DEFAULTS.tieMargin)
    .addOption(new Option('--engine <name>', "tfjs (embedded) or torch (PyTorch); default: the run's engine, else tfjs").choices(ENGINE_NAMES))
    .action(async (o) => {
      if (!!o.judgeUrl !== !!o.judgeModel) throw new Error('--judge-url and --judge-model go together: give both, or neither');
      const controller = new AbortController();
      const onSignal = () => {
        log('stopping (Ctrl-C): closing the engine; run the same command again to resume');
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let lastPhase = '';
      let firstDone: { at: number; done: number } | undefined;
      try {
        const summary = await runEval(
          {
            model: o.model,
            reference: o.reference,
            prompts: o.prompts,
            out: o.out,
            samples: o.samples,
            maxNewTokens: o.maxNewTokens,
            seed: o.seed,
            temperature: o.temperature,
            limit: o.limit,
            rewardModel: o.rewardModel,
            implicitRun: o.implicitRun,
            tieMargin: o.tieMargin,
            engine: o.engine,
            judge: o.judgeUrl
              ? {
                  url: o.judgeUrl,
                  model: o.judgeModel,
                  apiKey: process.env[o.judgeKeyEnv] || undefined,
                  // The judge reads and checks the file (a missing placeholder is named), and a refused key names the variable.
                  apiKeySource: `the environment variable ${o.judgeKeyEnv}`,
                  ...(o.judgePrompt ? { promptFile: path.resolve(o.judgePrompt) } : {}),
                }
              : undefined,
          },
          {
            log,
            signal: controller.signal,
            onProgress: (p) => {
              // One stderr line per answer pair and per phase change: readable in a log, not a flood.
              const key = `${p.phase}:${p.done}`;
              if (key === lastPhase) return;
              lastPhase = key;
              if (p.phase === 'sampling' && firstDone === undefined) firstDone = { at: Date.now(), done: p.done };
              const perPair = firstDone && p.done > firstDone.done ? (Date.now() - firstDone.at) / 1000 / (p.done - firstDone.done) : undefined;
              const eta = perPair !== undefined && p.phase === 'sampling' ? ` ETA ${formatDuration(perPair * (p.total - p.done)) || '0s'}` : '';
              log(`${p.phase}${p.total > 1 ? ` ${p.done}/${p.total}` : ''}${p.message ? ` ${p.message}` : ''}${eta}`);
            },
          },
        );
        for (const line of summaryLines(summary)) process.stdout.write(line + '\n');
      } catch (err) {
        if (!controller.signal.aborted) throw err;
        log('evaluation cancelled; the answers made so far are in results.jsonl');
        process.exitCode = 130; // as a shell reports a Ctrl-C
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
