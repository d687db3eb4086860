// summary.json from the lines of results.jsonl: per judge the win rate, its interval and the
// length-controlled win rate; per model the answer count, mean length and mean reward; the KL estimate.
// Pure: the same lines always give the same summary (only `created` is the caller's).
import { EvalModel, EvalResultLine, EvalSummary, JudgeKind, JudgeSummary, ModelSummary } from '../../protocol';
import { Outcome, clusteredMean, lengthControlledWinRate, normalInterval, winRate } from './stats';

export interface JudgeInfo {
  name: string;
  kind: JudgeKind;
  independent: boolean;
  source: string;
}

export type SummaryMeta = Omit<EvalSummary, 'kl' | 'kl_ci' | 'win_rate' | 'win_rate_ci' | 'lc_win_rate' | 'judges' | 'models' | 'kl_exact_sampler'>;

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function modelSummary(lines: EvalResultLine[]): ModelSummary {
  const s: ModelSummary = { answers: lines.length, mean_length: mean(lines.map((l) => l.tokens)) };
  const rewarded = lines.filter((l) => l.reward !== undefined);
  if (rewarded.length > 0 && rewarded.length === lines.length) {
    const m = clusteredMean(rewarded.map((l) => ({ cluster: l.prompt_index, value: l.reward! })));
    s.mean_reward = m.mean;
    s.mean_reward_ci = normalInterval(m);
  }
  return s;
}

function judgeSummary(j: JudgeInfo, pairs: { policy: EvalResultLine; reference: EvalResultLine }[]): JudgeSummary {
  const judged = pairs.filter((p) => p.policy.verdicts?.[j.name] !== undefined);
  const outcomes = judged.map((p) => ({ cluster: p.policy.prompt_index, outcome: p.policy.verdicts![j.name].verdict as Outcome }));
  const w = winRate(outcomes);
  const lc = lengthControlledWinRate(judged.map((p, i) => ({ outcome: outcomes[i].outcome, lengthDiff: p.policy.tokens - p.reference.tokens })));
  return {
    kind: j.kind,
    independent: j.independent,
    source: j.source,
    wins: w.wins,
    ties: w.ties,
    losses: w.losses,
    win_rate: w.winRate,
    win_rate_ci: w.interval,
    ...(lc !== undefined ? { lc_win_rate: lc } : {}),
    mean_length_policy: mean(judged.map((p) => p.policy.tokens)),
    mean_length_reference: mean(judged.map((p) => p.reference.tokens)),
  };
}

/**
 * `lines` are the answers in scope (one policy and one reference line per prompt and sample).
 * KL(π‖π_ref) ≈ mean over the policy's own samples of log π(y|x) − log π_ref(y|x), clustered over
 * prompts; it is KL of π only when the sampler was π itself (temperature 1, no top-k/top-p).
 */
export function buildSummary(meta: SummaryMeta, judges: JudgeInfo[], lines: EvalResultLine[]): EvalSummary {
  const by = (m: EvalModel) => lines.filter((l) => l.model === m);
  const refs = new Map(by('reference').map((l) => [`${l.prompt_index}:${l.sample}`, l]));
  const pairs = by('policy').flatMap((policy) => {
    const reference = refs.get(`${policy.prompt_index}:${policy.sample}`);
    return reference ? [{ policy, reference }] : [];
  });
  const kl = clusteredMean(by('policy').map((l) => ({ cluster: l.prompt_index, value: l.policy_logp - l.reference_logp })));
  const judgeFigures: Record<string, JudgeSummary> = {};
  for (const j of judges) judgeFigures[j.name] = judgeSummary(j, pairs);
  const first = judges.length ? judgeFigures[judges[0].name] : undefined;
  return {
    ...meta,
    kl: kl.mean,
    kl_ci: normalInterval(kl),
    kl_exact_sampler: meta.temperature === 1,
    ...(first && Number.isFinite(first.win_rate)
      ? { win_rate: first.win_rate, win_rate_ci: first.win_rate_ci, ...(first.lc_win_rate !== undefined ? { lc_win_rate: first.lc_win_rate } : {}) }
      : {}),
    judges: judgeFigures,
    models: { policy: modelSummary(by('policy')), reference: modelSummary(by('reference')) },
  };
}
