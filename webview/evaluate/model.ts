// What the Evaluate panel shows, computed from the evaluation summaries without the DOM: the judges
// on offer, a table row per evaluation, its sort, the frontier chart's series (one per run, points
// in step order) and the number formats. Unit-tested in plain Node.
import type { EvaluationView } from '../../src/protocol/webview-evaluate';
import type { Interval } from '../../src/protocol/eval-results';

export interface Row {
  dir: string;
  series: string;
  name: string;
  step?: number;
  winRate?: number;
  winRateCi?: Interval;
  lcWinRate?: number;
  kl: number;
  klCi: Interval;
  meanReward?: number;
  meanRewardCi?: Interval;
  /** False when the answers were not sampled from π itself: the KL is then the sampler's, not KL(π‖π_ref). */
  klExact: boolean;
  meanLength: number;
  meanLengthReference?: number;
  /** The judge is a run's implicit reward: not independent evidence. */
  notIndependent: boolean;
}

export const SORT_KEYS = ['series', 'winRate', 'lcWinRate', 'kl', 'meanReward', 'meanLength'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type FrontierY = 'reward' | 'winRate';

/** Judge names across the evaluations, in the order first seen (each summary lists its first judge first). */
export function judgesOf(evals: EvaluationView[]): string[] {
  const names: string[] = [];
  for (const e of evals) for (const j of Object.keys(e.summary.judges)) if (!names.includes(j)) names.push(j);
  return names;
}

/** Checkpoints by step, a final model (no step) after them, then by name. */
export function byStep(a: { step?: number; name: string }, b: { step?: number; name: string }): number {
  return (a.step ?? Infinity) - (b.step ?? Infinity) || a.name.localeCompare(b.name);
}

export function rowsFor(evals: EvaluationView[], judge: string | undefined): Row[] {
  return evals.map((e) => {
    const j = judge ? e.summary.judges[judge] : undefined;
    return {
      dir: e.dir,
      series: e.series,
      name: e.name,
      step: e.step,
      winRate: j?.win_rate,
      winRateCi: j?.win_rate_ci,
      lcWinRate: j?.lc_win_rate,
      kl: e.summary.kl,
      klCi: e.summary.kl_ci,
      meanReward: e.summary.models.policy.mean_reward,
      meanRewardCi: e.summary.models.policy.mean_reward_ci,
      klExact: e.summary.kl_exact_sampler !== false,
      meanLength: e.summary.models.policy.mean_length,
      meanLengthReference: e.summary.models.reference?.mean_length,
      notIndependent: j ? !j.independent : false,
    };
  });
}

/** Sorted by one column; rows without a value there go last either way; ties keep run and step order. */
export function sortRows(rows: Row[], key: SortKey, descending: boolean): Row[] {
  const sign = descending ? -1 : 1;
  const tie = (a: Row, b: Row) => a.series.localeCompare(b.series) || byStep(a, b);
  return rows.slice().sort((a, b) => {
    if (key === 'series') return sign * tie(a, b);
    const x = a[key];
    const y = b[key];
    if (x === undefined || y === undefined) return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0) || tie(a, b);
    return sign * (x - y) || tie(a, b);
  });
}

export interface FrontierPoint {
  dir: string;
  name: string;
  step?: number;
  x: number;
  y: number;
}
export interface FrontierSeries {
  name: string;
  points: FrontierPoint[];
}

/** One series per run, points in step order (the line follows training); evaluations without the y value are counted, not drawn. */
export function frontierSeries(rows: Row[], y: FrontierY): { series: FrontierSeries[]; missing: number } {
  const bySeries = new Map<string, FrontierPoint[]>();
  let missing = 0;
  for (const r of rows) {
    const v = y === 'reward' ? r.meanReward : r.winRate;
    if (v === undefined) {
      missing++;
      continue;
    }
    const list = bySeries.get(r.series) ?? [];
    list.push({ dir: r.dir, name: r.name, step: r.step, x: r.kl, y: v });
    bySeries.set(r.series, list);
  }
  const series = [...bySeries.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, points]) => ({ name, points: points.sort(byStep) }));
  return { series, missing };
}

/** Padded [min, max] of values, so points sit inside the plot (and a single value gets a range). */
export function paddedRange(values: number[]): [number, number] {
  if (!values.length) return [0, 1];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.max(Math.abs(hi) * 0.1, 0.05);
  return [lo - pad, hi + pad];
}

export const pct = (v: number | undefined): string => (v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
export const num = (v: number | undefined, digits = 3): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
export const pctCi = (ci: Interval | undefined): string => (ci ? `${(ci[0] * 100).toFixed(1)}–${(ci[1] * 100).toFixed(1)}` : '');
export const numCi = (ci: Interval | undefined, digits = 3): string => (ci ? `${ci[0].toFixed(digits)} to ${ci[1].toFixed(digits)}` : '');

/** What a point says on hover, in the announcement and in its accessible name. */
export function pointText(series: string, p: FrontierPoint, y: FrontierY): string {
  const yText = y === 'reward' ? `mean reward ${num(p.y)}` : `win rate ${pct(p.y)}`;
  return `${series} ${p.name}${p.step !== undefined && !p.name.endsWith(String(p.step)) ? ` (step ${p.step})` : ''}: KL ${num(p.x)}, ${yText}`;
}

/** The next point for an arrow key: Left/Right along a run (step order), Up/Down to the next run's nearest point by KL. */
export function movePoint(series: FrontierSeries[], at: { s: number; p: number } | undefined, key: string): { s: number; p: number } | undefined {
  if (!series.length) return undefined;
  if (!at) return { s: 0, p: 0 };
  const cur = series[at.s]?.points[at.p];
  if (!cur) return { s: 0, p: 0 };
  switch (key) {
    case 'ArrowRight':
      return { s: at.s, p: Math.min(series[at.s].points.length - 1, at.p + 1) };
    case 'ArrowLeft':
      return { s: at.s, p: Math.max(0, at.p - 1) };
    case 'Home':
      return { s: at.s, p: 0 };
    case 'End':
      return { s: at.s, p: series[at.s].points.length - 1 };
    case 'ArrowDown':
    case 'ArrowUp': {
      const s = (at.s + (key === 'ArrowDown' ? 1 : series.length - 1)) % series.length;
      const pts = series[s].points;
      let best = 0;
      for (let i = 1; i < pts.length; i++) if (Math.abs(pts[i].x - cur.x) < Math.abs(pts[best].x - cur.x)) best = i;
      return { s, p: best };
    }
    default:
      return at;
  }
}
