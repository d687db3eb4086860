// Pure (in src/protocol so the engine, the CLI and the extension share it).
// The triage ranking: which preference pairs does a DPO-tuned model most disagree with? Pure, so
// it is unit-tested on constructed margins. The rule is documented in README.md (`dpo triage`).
//
// DPO's implicit reward r(x,y) = β·log(πθ(y|x)/πref(y|x)) is a reward model (arXiv:2305.18290,
// sec. 5), and under its Bradley–Terry model the probability that the pair's label is the wrong
// way round is σ(−margin), margin = r(x,y_chosen) − r(x,y_rejected). A pair the tuned model
// still scores the other way after training on it is one it could not fit: the "small-loss"
// criterion of noisy-label learning (networks fit clean labels before noisy ones; Co-teaching,
// arXiv:1804.06872). With several checkpoints the score is averaged over them, as the Area Under
// the Margin ranking averages a sample's margin over training (arXiv:2001.10528), so a pair
// flagged at every checkpoint outranks one flagged once.

export interface ModelMargins {
  /** What the margins come from: "final", or a checkpoint folder name. */
  model: string;
  /** data line (1-based) -> margin (β·log-ratio margin, chosen minus rejected). */
  margins: Map<number, number>;
}

export interface TriageRow {
  /** 1-based line of the data file. */
  line: number;
  /** The margin under the main (first) model. */
  margin: number;
  /** The ranking key: mean over models of σ(−margin), the estimated probability the label is flipped. */
  score: number;
  /** Share of models whose margin is negative (disagree with the label). */
  agreement: number;
  /** Per-model margins, when more than one model was scored. */
  checkpoints?: { model: string; margin: number }[];
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** σ(−margin): the DPO model's probability that the rejected response is the preferred one. */
export function flipProbability(margin: number): number {
  return sigmoid(-margin);
}

/**
 * Rows for the lines scored by every model, most suspicious first: by score, then by the main
 * model's margin (lower first), then by line (stable output).
 */
export function rankPairs(models: ModelMargins[]): TriageRow[] {
  if (models.length === 0) throw new Error('triage needs the margins of at least one model');
  const [main, ...rest] = models;
  const rows: TriageRow[] = [];
  for (const [line, margin] of main.margins) {
    const all = models.map((m) => m.margins.get(line));
    if (all.some((m) => m === undefined)) continue;
    const ms = all as number[];
    const row: TriageRow = {
      line,
      margin,
      score: ms.reduce((a, m) => a + flipProbability(m), 0) / ms.length,
      agreement: ms.filter((m) => m < 0).length / ms.length,
    };
    if (rest.length) row.checkpoints = models.map((m, i) => ({ model: m.model, margin: ms[i] }));
    rows.push(row);
  }
  return rows.sort((a, b) => b.score - a.score || a.margin - b.margin || a.line - b.line);
}

/** Precision and recall of the top `k` rows against a set of lines known to be flipped. */
export function flaggedPrecisionRecall(rows: TriageRow[], flipped: Set<number>, k: number): { precision: number; recall: number; hits: number } {
  const top = rows.slice(0, k);
  const hits = top.filter((r) => flipped.has(r.line)).length;
  return { precision: hits / Math.max(1, top.length), recall: hits / Math.max(1, flipped.size), hits };
}

/**
 * After a review of the top `reviewed` of `total` pairs found `flips` mislabeled: the flip rate in
 * the reviewed part, and the expected share of mislabeled pairs left in the whole file, taking the
 * unreviewed part's rate as at most the reviewed part's (the queue is sorted most suspicious
 * first, so this errs high). The latter is the ε suggested for conservative DPO (label_smoothing).
 */
export function noiseEstimate(flips: number, reviewed: number, total: number): { reviewedRate: number; remainingRate: number; labelSmoothing: number } {
  const reviewedRate = reviewed > 0 ? flips / reviewed : 0;
  const remainingRate = total > 0 ? (reviewedRate * Math.max(0, total - reviewed)) / total : 0;
  // label_smoothing must stay below 0.5 (at 0.5 the labels carry no information).
  return { reviewedRate, remainingRate, labelSmoothing: Math.min(0.49, Math.round(remainingRate * 100) / 100) };
}

/** Rows of a triage file, in file order; a line that is not a row is an error naming it. */
export function parseTriageRows(text: string): TriageRow[] {
  return text.split('\n').flatMap((raw, i) => {
    if (raw.trim() === '') return [];
    const o = JSON.parse(raw) as Partial<TriageRow>;
    if (typeof o.line !== 'number' || typeof o.margin !== 'number' || typeof o.score !== 'number')
      throw new Error(`triage line ${i + 1}: expected {"line", "margin", "score"} numbers`);
    return [o as TriageRow];
  });
}
