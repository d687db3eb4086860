// A run's eval points as columns in step order. Evaluations do not arrive in step order: a
// checkpoint's background evaluation (gen/*) lands after later training evals. Pure, for tests.

/**
 * Puts one evaluation's values (NaN: not in this record) into the columns at its step. The same
 * step's other evaluation (the training eval beside a checkpoint's) shares its x where the two do
 * not overlap, so uPlot never sees one step twice; otherwise a new x is inserted after equal steps.
 */
export function insertEval(steps: number[], cols: Map<string, number[]>, metrics: readonly string[], step: number, values: readonly number[]): void {
  let at = steps.length;
  while (at > 0 && steps[at - 1] > step) at--;
  const merge = at > 0 && steps[at - 1] === step && metrics.every((m, i) => Number.isNaN(values[i]) || Number.isNaN(cols.get(m)?.[at - 1] ?? NaN));
  if (!merge) steps.splice(at, 0, step);
  metrics.forEach((m, i) => {
    let col = cols.get(m);
    if (!col) cols.set(m, (col = new Array<number>(steps.length - (merge ? 0 : 1)).fill(NaN)));
    if (!merge) col.splice(at, 0, values[i]);
    else if (!Number.isNaN(values[i])) col[at - 1] = values[i];
  });
}
