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

/**
 * Whether an evaluation is the reference judged against itself: step 0 with both rewards and the
 * margin exactly 0 (what both engines log before the first update, policy = reference). Every pair
 * then ties, and accuracy, which counts only strict wins, reads 0 without any pair being wrong.
 */
export function isReferenceEval(step: number, chosen: number | undefined, rejected: number | undefined, margin: number | undefined): boolean {
  return step === 0 && chosen === 0 && rejected === 0 && (margin === undefined || margin === 0);
}

/** What step 0's evaluation is, in the words the run line and the accuracy chart use. */
export const REFERENCE_EVAL_TEXT = 'step 0: policy = reference, margins 0 → ties, not errors';

/**
 * The eval part of a run's line: the best margin after step 0; with only step 0's evaluation, what
 * that is (it is drawn, so "no eval yet" would contradict the chart); "no eval yet" without any.
 */
export function evalSummaryText(evalSteps: number[], margins: number[], referenceAt0: boolean, fmt: (v: number) => string): string {
  const best = bestEvalMargin(evalSteps, margins);
  if (Number.isFinite(best)) return `best eval margin ${fmt(best)}`;
  const at0 = evalSteps.indexOf(0);
  if (at0 < 0) return 'no eval yet';
  if (referenceAt0) return `eval at ${REFERENCE_EVAL_TEXT}`;
  return Number.isFinite(margins[at0]) ? `eval at step 0: margin ${fmt(margins[at0])}` : 'eval at step 0';
}
