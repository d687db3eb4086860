// Whether a scored answer is text either model would plausibly write. The implicit reward of text
// that both models find wildly unlikely (a random model's reference, a data pair far from what the
// model learned) is a difference of two tiny numbers: its margin and σ look confident and mean little.
import type { ProbeScore } from '../../src/protocol/messages';

/** Below this mean log-probability per token (a geometric-mean probability of 1%), neither model would write the text. */
export const IMPLAUSIBLE_MEAN_LOGP = Math.log(0.01);

export interface Plausibility {
  /** Mean log-probability per token under each model. */
  policy: number;
  reference: number;
  plausible: boolean;
}

export function plausibility(score: ProbeScore): Plausibility | undefined {
  const n = score.tokens.length;
  if (n === 0) return undefined;
  const policy = score.policyLogp / n;
  const reference = score.referenceLogp / n;
  return { policy, reference, plausible: Math.max(policy, reference) >= IMPLAUSIBLE_MEAN_LOGP };
}

/** The caution shown beside a margin when some answer is implausible to both models; empty when none is. */
export function implausibleNote(answers: { name: string; score: ProbeScore }[]): string {
  const bad = answers
    .map((a) => ({ name: a.name, p: plausibility(a.score) }))
    .filter((a): a is { name: string; p: Plausibility } => a.p !== undefined && !a.p.plausible);
  if (bad.length === 0) return '';
  const which = bad.map((b) => `${b.name}: ${b.p.policy.toFixed(2)} policy, ${b.p.reference.toFixed(2)} reference`).join('; ');
  return `Neither model would plausibly write ${bad.length === answers.length ? 'these answers' : 'this answer'} (mean log p per token ${which}; below ${IMPLAUSIBLE_MEAN_LOGP.toFixed(2)}, a 1% chance per token): the margin and σ say little here.`;
}
