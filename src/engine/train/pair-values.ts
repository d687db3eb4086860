// Per-pair values of a step or an eval pass (data line, loss, implicit rewards, log-probs), and the
// one function that turns them into TRL's metrics for either split, and into pairs.jsonl records.
import { DpoConfig, EVAL_PREFIX, MetricsSplit, PairRecord } from '../../protocol';

export interface PairValues {
  lines: number[];
  chosenRewards: number[];
  rejectedRewards: number[];
  losses: number[];
  chosenLogps: number[];
  rejectedLogps: number[];
  /** Per pair: the summed vocabulary-mean logits over its response positions, and its response tokens (TRL's logits/*). */
  chosenLogitSums: number[];
  rejectedLogitSums: number[];
  chosenTokens: number[];
  rejectedTokens: number[];
  /** SimPO/ORPO: each pair's share of its batch's NLL term (their mean is TRL's nll_loss); [] otherwise. */
  nllShares: number[];
  /** ORPO: each pair's log odds ratio (TRL's log_odds_chosen is their mean); [] otherwise. */
  logOdds: number[];
  /** Mode "kto" (one unpaired example per entry, its values on its label's side): 1 desirable, 0 not; [] otherwise. */
  labels: number[];
  /** Mode "kto": the KL estimate z_ref of each example's batch; [] otherwise. */
  kls: number[];
  tokens: number;
}

const LISTS = [
  'lines',
  'chosenRewards',
  'rejectedRewards',
  'losses',
  'chosenLogps',
  'rejectedLogps',
  'chosenLogitSums',
  'rejectedLogitSums',
  'chosenTokens',
  'rejectedTokens',
  'nllShares',
  'logOdds',
  'labels',
  'kls',
] as const;

export const emptyValues = (): PairValues => ({
  lines: [],
  chosenRewards: [],
  rejectedRewards: [],
  losses: [],
  chosenLogps: [],
  rejectedLogps: [],
  chosenLogitSums: [],
  rejectedLogitSums: [],
  chosenTokens: [],
  rejectedTokens: [],
  nllShares: [],
  logOdds: [],
  labels: [],
  kls: [],
  tokens: 0,
});
/** log σ(x) in float64, stable on both sides. */
const logSigmoid = (x: number) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: number[]) => (xs.length ? sum(xs) / xs.length : 0);

export function appendValues(into: PairValues, from: PairValues): void {
  for (const k of LISTS) into[k].push(...from[k]);
  into.tokens += from.tokens;
}

/** TRL's metric names over a set of pairs, `eval_`-prefixed for the eval split. */
export function pairMetrics(v: PairValues, split: MetricsSplit, mode: DpoConfig['mode']): Record<string, number> {
  const m: Record<string, number> = mode === 'kto' ? ktoMetrics(v) : { loss: mean(v.losses), 'logps/chosen': mean(v.chosenLogps) };
  if (mode === 'dpo') {
    m['logps/rejected'] = mean(v.rejectedLogps);
    m['rewards/chosen'] = mean(v.chosenRewards);
    m['rewards/rejected'] = mean(v.rejectedRewards);
    m['rewards/margins'] = mean(v.chosenRewards.map((c, i) => c - v.rejectedRewards[i]));
    // Strictly greater, as TRL: a tie (e.g. policy == reference at step 0) is not a win.
    m['rewards/accuracies'] = mean(v.chosenRewards.map((c, i) => (c > v.rejectedRewards[i] ? 1 : 0)));
    // TRL's logits/*: the vocabulary-mean logit, averaged over every response token of the window.
    if (v.chosenTokens.length > 0) {
      m['logits/chosen'] = sum(v.chosenLogitSums) / sum(v.chosenTokens);
      m['logits/rejected'] = sum(v.rejectedLogitSums) / sum(v.rejectedTokens);
    }
    // SimPO/ORPO (TRL's CPOTrainer and ORPOTrainer names); log_odds_ratio is the mean of log σ(log odds ratio).
    if (v.nllShares.length > 0) m.nll_loss = mean(v.nllShares);
    if (v.logOdds.length > 0) {
      m.log_odds_ratio = mean(v.logOdds.map(logSigmoid));
      m.log_odds_chosen = mean(v.logOdds);
    }
  }
  return split === 'eval' ? Object.fromEntries(Object.entries(m).map(([k, x]) => [EVAL_PREFIX + k, x])) : m;
}

export function pairRecords(v: PairValues, step: number, split: MetricsSplit): PairRecord[] {
  return v.lines.map((line, i) => {
    const chosen = v.chosenRewards[i] ?? 0;
    const rejected = v.rejectedRewards[i] ?? 0;
    const record: PairRecord = { step, split, line, chosen_reward: chosen, rejected_reward: rejected, margin: chosen - rejected, loss: v.losses[i] };
    return v.labels.length ? { ...record, label: v.labels[i] === 1 } : record;
  });
}

/**
 * TRL's KTOTrainer metrics over a window of examples: per label, the mean reward and log-prob (only
 * when the window holds that label, as TRL logs them), logits/* per response token, kl the mean z_ref.
 */
function ktoMetrics(v: PairValues): Record<string, number> {
  const m: Record<string, number> = { loss: mean(v.losses), kl: mean(v.kls) };
  const chosen = v.labels.flatMap((l, i) => (l === 1 ? [i] : []));
  const rejected = v.labels.flatMap((l, i) => (l === 0 ? [i] : []));
  if (chosen.length) {
    m['rewards/chosen'] = mean(chosen.map((i) => v.chosenRewards[i]));
    m['logps/chosen'] = mean(chosen.map((i) => v.chosenLogps[i]));
    m['logits/chosen'] = sum(v.chosenLogitSums) / sum(v.chosenTokens);
  }
  if (rejected.length) {
    m['rewards/rejected'] = mean(rejected.map((i) => v.rejectedRewards[i]));
    m['logps/rejected'] = mean(rejected.map((i) => v.rejectedLogps[i]));
    m['logits/rejected'] = sum(v.rejectedLogitSums) / sum(v.rejectedTokens);
  }
  if (chosen.length && rejected.length) m['rewards/margins'] = m['rewards/chosen'] - m['rewards/rejected'];
  return m;
}
