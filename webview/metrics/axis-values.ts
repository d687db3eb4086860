// Pure helpers behind what the charts and the summary print (no DOM, so unit tests load them).

/** Tick labels in scientific notation, for values like learning rates that fixed decimals print as "0". */
export function scientificTicks(splits: number[]): string[] {
  return splits.map((v) => (v === 0 ? '0' : v.toExponential(1)));
}

/**
 * The best eval margin over evaluations after training began, or NaN when there was none: step 0's
 * evaluation is the reference model itself, whose margin is 0 by construction.
 */
export function bestEvalMargin(evalSteps: number[], margins: number[]): number {
  const after = margins.filter((v, i) => evalSteps[i] > 0 && Number.isFinite(v));
  return after.length ? Math.max(...after) : NaN;
}
