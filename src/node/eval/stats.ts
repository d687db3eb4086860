// The statistics of `dpo eval`, pure and deterministic: win rates with a 95% interval clustered over
// prompts, the length-controlled win rate (AlpacaEval 2's regression on the length difference) and the
// KL estimate with its interval. No I/O; docs/evaluation.md explains each choice.

/** 1.96: the two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

/** One observation (a win indicator, a log-ratio, a reward) and the prompt it came from. */
export interface Clustered {
  cluster: number;
  value: number;
}

export interface ClusteredMean {
  mean: number;
  /** Cluster-robust standard error of the mean (0 when it cannot be estimated: see `clusters`). */
  se: number;
  clusters: number;
  n: number;
}

/**
 * The mean and its cluster-robust (sandwich, CR1) standard error: the k samples of one prompt are
 * correlated, so the prompt is the unit of independence. Var = G/(G−1) · Σ_g (Σ_i∈g (y_i − ȳ))² / N².
 * With a single prompt, it falls back to the i.i.d. error over its samples (the only spread there is).
 */
export function clusteredMean(obs: Clustered[]): ClusteredMean {
  const n = obs.length;
  if (n === 0) return { mean: NaN, se: NaN, clusters: 0, n: 0 };
  const mean = obs.reduce((a, o) => a + o.value, 0) / n;
  const sums = new Map<number, number>();
  for (const o of obs) sums.set(o.cluster, (sums.get(o.cluster) ?? 0) + (o.value - mean));
  const g = sums.size;
  if (g >= 2) {
    let ss = 0;
    for (const s of sums.values()) ss += s * s;
    return { mean, se: Math.sqrt(((g / (g - 1)) * ss) / (n * n)), clusters: g, n };
  }
  if (n < 2) return { mean, se: 0, clusters: g, n };
  const variance = obs.reduce((a, o) => a + (o.value - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), clusters: g, n };
}

/** mean ± 1.96·SE: the interval of an unbounded quantity (KL, a mean reward). */
export function normalInterval(m: ClusteredMean): [number, number] {
  return [m.mean - Z95 * m.se, m.mean + Z95 * m.se];
}

export interface WinRate {
  wins: number;
  ties: number;
  losses: number;
  /** (wins + ties/2) / n */
  winRate: number;
  interval: [number, number];
}

export type Outcome = 'win' | 'tie' | 'loss';
const SCORE: Record<Outcome, number> = { win: 1, tie: 0.5, loss: 0 };

/**
 * Win rate and a 95% Wilson score interval with the effective sample size of the clustered data:
 * n_eff = p(1−p)/SE², SE cluster-robust (so correlated samples of one prompt count less than
 * independent prompts), capped at the number of answers and, where SE is 0 or p is 0 or 1 (nothing to
 * estimate a design effect from), the number of prompts. Wilson, unlike p ± 1.96·SE, stays inside
 * [0, 1] and is not a point when every answer won.
 */
export function winRate(outcomes: { cluster: number; outcome: Outcome }[]): WinRate {
  const wins = outcomes.filter((o) => o.outcome === 'win').length;
  const ties = outcomes.filter((o) => o.outcome === 'tie').length;
  const losses = outcomes.length - wins - ties;
  const n = outcomes.length;
  if (n === 0) return { wins, ties, losses, winRate: NaN, interval: [0, 1] };
  const m = clusteredMean(outcomes.map((o) => ({ cluster: o.cluster, value: SCORE[o.outcome] })));
  const p = m.mean;
  const pq = p * (1 - p);
  const nEff = pq > 0 && m.se > 0 ? Math.min(n, pq / (m.se * m.se)) : m.clusters;
  return { wins, ties, losses, winRate: p, interval: wilson(p, nEff) };
}

/** The Wilson score interval for a proportion p observed over n (n may be fractional). */
export function wilson(p: number, n: number): [number, number] {
  if (!(n > 0)) return [0, 1];
  const z2 = Z95 * Z95;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (Z95 / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/** A ridge penalty on the length slope: keeps the fit finite when length alone separates wins from losses. */
export const LC_SLOPE_RIDGE = 0.01;

/**
 * Length-controlled win rate, AlpacaEval 2's idea (arXiv:2404.04475) reduced to one pair of models:
 * a logistic regression of the win score y ∈ {0, ½, 1} on x = tanh((len_π − len_ref)/sd) (sd: the
 * standard deviation of the length differences), then σ(intercept), the predicted win probability
 * when both answers have the same length. Fitted by Newton's method on the binomial log-likelihood
 * (a tie counts as half a win), with LC_SLOPE_RIDGE on the slope. Degenerate cases: no length
 * variance (x all 0) or every outcome the same gives the plain win rate; fewer than 2 pairs, undefined.
 */
export function lengthControlledWinRate(pairs: { outcome: Outcome; lengthDiff: number }[]): number | undefined {
  const n = pairs.length;
  if (n < 2) return undefined;
  const y = pairs.map((p) => SCORE[p.outcome]);
  const plain = y.reduce((a, b) => a + b, 0) / n;
  const meanDiff = pairs.reduce((a, p) => a + p.lengthDiff, 0) / n;
  const sd = Math.sqrt(pairs.reduce((a, p) => a + (p.lengthDiff - meanDiff) ** 2, 0) / (n - 1));
  if (plain === 0 || plain === 1 || !(sd > 0)) return plain;
  const x = pairs.map((p) => Math.tanh(p.lengthDiff / sd));
  let a = Math.log(plain / (1 - plain));
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    // Gradient and Hessian of the penalised log-likelihood in (a, b).
    let ga = 0;
    let gb = -LC_SLOPE_RIDGE * b;
    let haa = 0;
    let hab = 0;
    let hbb = LC_SLOPE_RIDGE;
    for (let i = 0; i < n; i++) {
      const q = sigmoid(a + b * x[i]);
      const w = q * (1 - q);
      ga += y[i] - q;
      gb += (y[i] - q) * x[i];
      haa += w;
      hab += w * x[i];
      hbb += w * x[i] * x[i];
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 1e-12)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < 1e-12) break;
  }
  return sigmoid(a);
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** Verdict from a score difference (reward model, implicit reward): a tie within `tieMargin`. */
export function verdictFromMargin(margin: number, tieMargin = 1e-6): Outcome {
  return Math.abs(margin) < tieMargin ? 'tie' : margin > 0 ? 'win' : 'loss';
}
