// `dpo eval` as a function, for the CLI and the extension host: sample answers from the policy and the
// reference with fixed seeds, score them (log-probs under both, a reward model, another run's implicit
// reward), judge each pair, append results.jsonl as it goes and write summary.json. A re-run with the
// same options into the same folder skips the answers already there.
import * as path from 'node:path';
import { BackendName, EVAL_FILES, EngineName, EvalResultLine, EvalSummary, JudgeVerdict, ProbeSampling } from '../../protocol';
import { EngineProcess } from '../engine-client';
import { writeFileAtomic } from '../fs-atomic';
import { closeEngine, loadEvalEngine } from './eval-engine';
import { engineCommandFor } from '../engine-command';
import { LlmJudgeOptions, PairJudge } from './judge';
import { createLlmJudge } from './llm-judge';
import { EvalPrompt, readPromptFile, runEvalPrompts } from './prompts';
import { answerKey, appendResults, claimEvalFolder, readResults } from './results-file';
import { resolveEvalSources } from './sources';
import { verdictFromMargin } from './stats';
import { JudgeInfo, buildSummary } from './summary';

export interface EvalOptions {
  /** The policy: a model folder, a run folder (its final model) or a checkpoint. */
  model: string;
  /** The reference model folder; default: the run's reference (or the policy's base model). */
  reference?: string;
  /** A JSONL of prompts; default: the run's eval split. */
  prompts?: string;
  samples: number;
  maxNewTokens: number;
  seed: number;
  temperature: number;
  rewardModel?: string;
  /** Another DPO run whose implicit reward judges the answers (reported as not independent). */
  implicitRun?: string;
  judge?: LlmJudgeOptions;
  /** A pairwise judge already made (tests, or a host that builds its own); used instead of `judge`. */
  pairJudge?: PairJudge;
  /** Use only the first N prompts. */
  limit?: number;
  /** A reward-model or implicit-reward margin below this is a tie (default 1e-6). */
  tieMargin?: number;
  out: string;
  engine?: EngineName;
  /** How the extension host starts the embedded engine (its bundle and Node). */
  embedded?: { enginePath?: string; nodePath?: string; backend?: BackendName };
}

export interface EvalProgress {
  phase: 'loading' | 'sampling' | 'scoring' | 'judging' | 'writing';
  done: number;
  total: number;
  message?: string;
}

export interface EvalHooks {
  onProgress?(p: EvalProgress): void;
  log?(line: string): void;
  signal?: AbortSignal;
}

export const EVAL_DEFAULTS = { samples: 4, maxNewTokens: 128, seed: 0, temperature: 1, tieMargin: 1e-6 } as const;

/** Options that change answers or verdicts: a folder's results are only resumed when they match. */
const MUST_MATCH = ['engine', 'policy', 'reference', 'prompts', 'max_new_tokens', 'seed', 'temperature', 'reward_model', 'implicit_run', 'judge', 'tie_margin'];

function checkOptions(o: EvalOptions): void {
  const bad = (flag: string, what: string, v: unknown) => new Error(`dpo eval: ${flag} must be ${what}, got ${JSON.stringify(v)}`);
  if (!Number.isInteger(o.samples) || o.samples < 1) throw bad('--samples', 'an integer >= 1', o.samples);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw bad('--max-new-tokens', 'an integer >= 1', o.maxNewTokens);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw bad('--seed', 'an integer >= 0', o.seed);
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature))
    throw bad('--temperature', 'a number > 0 (sampling; 0 would make all k samples one answer)', o.temperature);
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1)) throw bad('--limit', 'an integer >= 1', o.limit);
}

/** Rejects with "cancelled" as soon as `signal` aborts (the work itself is stopped by closing the engines). */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  // Whatever the work does once abandoned (an engine closed under it rejects) is no one's error.
  p.catch(() => undefined);
  if (signal.aborted) return Promise.reject(new Error('evaluation cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('evaluation cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function runEval(options: EvalOptions, hooks: EvalHooks = {}): Promise<EvalSummary> {
  checkOptions(options);
  const log = hooks.log ?? (() => undefined);
  const progress = (p: EvalProgress) => hooks.onProgress?.(p);
  const tieMargin = options.tieMargin ?? EVAL_DEFAULTS.tieMargin;
  progress({ phase: 'loading', done: 0, total: 1, message: 'reading the prompts' });

  const src = resolveEvalSources(options.model, options.reference);
  let promptFile: string;
  let prompts: EvalPrompt[];
  if (options.prompts) {
    promptFile = path.resolve(options.prompts);
    prompts = readPromptFile(promptFile);
  } else if (src.runDir && src.config) {
    ({ file: promptFile, prompts } = runEvalPrompts(src.runDir, src.config));
    log(`prompts: the run's eval split, ${prompts.length} from ${promptFile}`);
  } else throw new Error(`${src.policyDir} is not in a run folder: give the prompts with --prompts <jsonl>`);
  if (options.limit !== undefined) prompts = prompts.slice(0, options.limit);
  const engineName: EngineName = options.engine ?? src.runEngine ?? 'tfjs';
  const implicit = options.implicitRun ? resolveEvalSources(options.implicitRun) : undefined;
  if (implicit && !implicit.config) throw new Error(`${options.implicitRun}: --implicit-run takes a run folder (its config.json gives β)`);
  const out = path.resolve(options.out);

  const record = {
    version: 1,
    engine: engineName,
    policy: src.policyDir,
    reference: src.referenceDir,
    prompts: promptFile,
    limit: options.limit ?? null,
    samples: options.samples,
    max_new_tokens: options.maxNewTokens,
    seed: options.seed,
    temperature: options.temperature,
    reward_model: options.rewardModel ? path.resolve(options.rewardModel) : null,
    implicit_run: implicit ? { policy: implicit.policyDir, reference: implicit.referenceDir, beta: implicit.config!.beta } : null,
    // The judge's key is never written: only where it was read from is the caller's business.
    judge: options.pairJudge
      ? { name: options.pairJudge.name, model: options.pairJudge.source }
      : options.judge
        ? { url: options.judge.url, model: options.judge.model, prompt_template: options.judge.promptTemplate ?? null }
        : null,
    tie_margin: tieMargin,
  };
  claimEvalFolder(out, record, MUST_MATCH);
  const done = readResults(out);
  for (const l of done.values()) {
    const p = prompts[l.prompt_index];
    if (p && p.text !== l.prompt)
      throw new Error(`${path.join(out, EVAL_FILES.results)}: prompt ${l.prompt_index} differs from ${p.origin}; choose another --out`);
  }

  const llm: PairJudge | undefined = options.pairJudge ?? (options.judge ? createLlmJudge({ ...options.judge, log }) : undefined);
  const judges: JudgeInfo[] = [
    ...(record.reward_model ? [{ name: 'reward-model', kind: 'reward-model' as const, independent: true, source: record.reward_model }] : []),
    ...(llm ? [{ name: llm.name, kind: 'llm' as const, independent: true, source: llm.source }] : []),
    ...(implicit ? [{ name: 'implicit-reward', kind: 'implicit-reward' as const, independent: false, source: implicit.runDir! }] : []),
  ];
  const todo = prompts.flatMap((p) => Array.from({ length: options.samples }, (_, s) => ({ p, s })));
  const left = todo.filter(({ p, s }) => !done.has(answerKey(p.index, 'policy', s)) || !done.has(answerKey(p.index, 'reference', s)));
  if (left.length < todo.length) log(`resuming: ${todo.length - left.length} of ${todo.length} answer pairs already in ${EVAL_FILES.results}`);

  const engines: EngineProcess[] = [];
  try {
    if (left.length > 0) {
      progress({ phase: 'loading', done: 0, total: 1, message: `starting the ${engineName} engine` });
      const command = engineCommandFor(engineName, options.embedded);
      // Each process is owned (closed in finally) from the moment it is spawned: an abort during its
      // start or load must not leave it running.
      const main = new EngineProcess({ command, log });
      engines.push(main);
      const other = implicit ? new EngineProcess({ command, log }) : undefined;
      if (other) engines.push(other);
      await abortable(
        Promise.all([
          loadEvalEngine(main, src.policyDir, src.referenceDir, log, record.reward_model ?? undefined),
          other ? loadEvalEngine(other, implicit!.policyDir, implicit!.referenceDir, log) : undefined,
        ]),
        hooks.signal,
      );
      let n = todo.length - left.length;
      for (const { p, s } of left) {
        if (hooks.signal?.aborted) throw new Error('evaluation cancelled');
        progress({ phase: 'sampling', done: n, total: todo.length, message: `prompt ${p.index + 1}/${prompts.length}, sample ${s + 1}/${options.samples}` });
        if (hooks.signal?.aborted) throw new Error('evaluation cancelled');
        const pair = await abortable(answerPair(main, other, llm, p, s, options, implicit?.config?.beta, tieMargin, hooks.signal), hooks.signal);
        for (const l of pair) done.set(answerKey(l.prompt_index, l.model, l.sample), l);
        appendResults(out, pair);
        n++;
      }
    }
  } finally {
    await Promise.all(engines.map((e) => closeEngine(e)));
  }

  progress({ phase: 'writing', done: 0, total: 1 });
  const inScope = todo.flatMap(({ p, s }) => [done.get(answerKey(p.index, 'reference', s))!, done.get(answerKey(p.index, 'policy', s))!]);
  const summary = buildSummary(
    {
      version: 1,
      created: new Date().toISOString(),
      engine: engineName,
      policy: src.policyDir,
      reference: src.referenceDir,
      ...(src.runDir ? { run: src.runDir } : {}),
      ...(src.step !== undefined ? { step: src.step } : {}),
      prompts: prompts.length,
      samples: options.samples,
      seed: options.seed,
      max_new_tokens: options.maxNewTokens,
      temperature: options.temperature,
    },
    judges,
    inScope,
  );
  writeFileAtomic(path.join(out, EVAL_FILES.summary), JSON.stringify(summary, null, 2) + '\n');
  progress({ phase: 'writing', done: 1, total: 1 });
  return summary;
}

/** One prompt and sample: both answers, their scores and the judges' verdicts, as two result lines (reference first). */
async function answerPair(
  main: EngineProcess,
  implicitEngine: EngineProcess | undefined,
  llm: PairJudge | undefined,
  p: EvalPrompt,
  sample: number,
  o: EvalOptions,
  implicitBeta: number | undefined,
  tieMargin: number,
  signal?: AbortSignal,
): Promise<EvalResultLine[]> {
  const chat = p.messages !== undefined;
  // A seed of its own per prompt and sample: with one seed per sample index every prompt drew the same
  // random numbers, so a peaked policy wrote one answer to all prompts (32 of 48 alike in the frontier
  // bench) and the intervals, which assume prompts independent, were too narrow. Policy and reference
  // share it: their answers to one prompt and sample are compared with common random numbers.
  const seed = o.seed + p.index * o.samples + sample;
  const sampling: ProbeSampling = { seed, temperature: o.temperature, topK: 0, topP: 1, maxNewTokens: o.maxNewTokens, stop: [] };
  const ask = { prompt: p.text, chat, ...(p.messages ? { messages: p.messages } : {}) };
  const lines: EvalResultLine[] = [];
  for (const model of ['reference', 'policy'] as const) {
    const g = await main.request('probe/generate', { which: model, sampling, ...ask });
    if (!g.ids) throw new Error("the engine does not report sampled token ids (probe/generate's ids): rebuild it (npm run build) or update it");
    // The sampled ids are scored, EOS included, so the log-ratio is of the very sequence drawn from π
    // (the text decoded and encoded again may be other tokens). β does not matter: only sums are kept.
    const sc = await main.request('probe/score', { ...ask, response: g.text, responseIds: g.ids, beta: 1 });
    const line: EvalResultLine = {
      prompt_index: p.index,
      prompt: p.text,
      ...(p.messages ? { messages: p.messages } : {}),
      model,
      sample,
      seed,
      text: g.text,
      tokens: g.ids.length,
      token_ids: g.ids,
      finish_reason: g.reason,
      policy_logp: sc.policyLogp,
      reference_logp: sc.referenceLogp,
    };
    if (o.rewardModel) line.reward = (await main.request('reward-model/score', { ...ask, response: g.text })).score;
    if (implicitEngine) line.implicit_reward = (await implicitEngine.request('probe/score', { ...ask, response: g.text, beta: implicitBeta! })).reward;
    lines.push(line);
  }
  const [reference, policy] = lines;
  const verdicts: Record<string, JudgeVerdict> = {};
  const byMargin = (a?: number, b?: number): JudgeVerdict => ({ verdict: verdictFromMargin(a! - b!, tieMargin), margin: a! - b! });
  if (o.rewardModel) verdicts['reward-model'] = byMargin(policy.reward, reference.reward);
  if (llm)
    verdicts[llm.name] = await llm.judge(
      { promptIndex: p.index, sample, prompt: p.text, messages: p.messages, policy: policy.text, reference: reference.text },
      signal,
    );
  if (implicitEngine) verdicts['implicit-reward'] = byMargin(policy.implicit_reward, reference.implicit_reward);
  if (Object.keys(verdicts).length) policy.verdicts = verdicts;
  return lines;
}
