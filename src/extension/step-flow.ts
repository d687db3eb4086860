// The order of a multi-step flow (quick-steps.ts shows the steps): answers, Back, skipped steps
// and the summary's jumps. No vscode import, so the order is unit-tested in plain Node.

export const BACK = Symbol('back');
/** A step's answer: the value, BACK (the Back button), or undefined (Escape: the flow is cancelled). */
export type StepAnswer<T> = T | typeof BACK | undefined;

/** What a step does next: on to the following step, skipped (not applicable), back, or cancel. */
export type StepOutcome = 'next' | 'skip' | 'back' | 'cancel' | { goto: number };

/** Turns an answer into an outcome, storing the value when there is one. */
export function outcome<T>(answer: StepAnswer<T>, store: (v: T) => void): StepOutcome {
  if (answer === BACK) return 'back';
  if (answer === undefined) return 'cancel';
  store(answer);
  return 'next';
}

/**
 * Runs steps in order. Back returns to the last step that asked something (skipped steps are
 * passed over), and from the first step ends the flow with 'back' (offered when `backFromFirst`:
 * a flow nested in another); `goto` jumps to a step (the
 * summary's Edit), after which the steps follow in order again.
 */
export async function runSteps(steps: ((back: boolean) => Promise<StepOutcome>)[], backFromFirst = false): Promise<'done' | 'back' | 'cancel'> {
  const asked: number[] = [];
  let i = 0;
  while (i < steps.length) {
    const r = await steps[i](backFromFirst || asked.length > 0);
    if (r === 'cancel') return 'cancel';
    if (r === 'back') {
      if (asked.length === 0) return 'back';
      i = asked.pop()!;
    } else if (r === 'skip') i++;
    else if (r === 'next') asked.push(i++);
    else {
      while (asked.length > 0 && asked[asked.length - 1] >= r.goto) asked.pop();
      i = r.goto;
    }
  }
  return 'done';
}
