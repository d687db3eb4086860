// The order of New Training Run's steps: Back returns to the last question asked (skipped steps
// passed over), Back from the first ends the flow, the summary's Edit jumps back and goes on in order.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { BACK, StepOutcome, outcome, runSteps } from '../../../src/extension/step-flow';

/** Steps that record their visits and answer from a script of outcomes, one per visit. */
function scripted(script: StepOutcome[][]) {
  const visits: [number, boolean][] = [];
  const steps = script.map((answers, i) => async (back: boolean) => {
    visits.push([i, back]);
    const next = answers.shift();
    assert.ok(next !== undefined, `step ${i} was visited more often than scripted`);
    return next;
  });
  return { steps, visits };
}

describe('runSteps', () => {
  it('goes in order; a skipped step is not asked again on Back', async () => {
    const { steps, visits } = scripted([['next', 'next'], ['skip', 'skip'], ['back', 'next'], ['next']]);
    assert.equal(await runSteps(steps), 'done');
    assert.deepEqual(visits, [
      [0, false],
      [1, true],
      [2, true],
      [0, false],
      [1, true],
      [2, true],
      [3, true],
    ]);
  });

  it('Back on the first question ends the flow with back (a nested flow returns to its parent); Escape cancels', async () => {
    assert.equal(await runSteps(scripted([['back']]).steps, true), 'back');
    assert.equal(await runSteps(scripted([['next'], ['cancel']]).steps), 'cancel');
  });

  it('offers Back on the first question only when nested', async () => {
    const { steps, visits } = scripted([['skip'], ['next'], ['next']]);
    await runSteps(steps);
    assert.deepEqual(visits, [
      [0, false],
      [1, false],
      [2, true],
    ]);
  });

  it("the summary's Edit jumps to a step, then the steps after it come again in order", async () => {
    const { steps, visits } = scripted([['next'], ['next', 'next'], ['next', 'next'], [{ goto: 1 }, 'next']]);
    assert.equal(await runSteps(steps), 'done');
    assert.deepEqual(
      visits.map(([i]) => i),
      [0, 1, 2, 3, 1, 2, 3],
    );
    assert.deepEqual(visits[4], [1, true], 'Back from the edited step leads to the step before it');
  });
});

describe('outcome', () => {
  it('stores a value and goes on; Back and Escape store nothing', () => {
    const stored: number[] = [];
    assert.equal(
      outcome(5, (v: number) => stored.push(v)),
      'next',
    );
    assert.equal(
      outcome<number>(BACK, (v) => stored.push(v)),
      'back',
    );
    assert.equal(
      outcome<number>(undefined, (v) => stored.push(v)),
      'cancel',
    );
    assert.deepEqual(stored, [5]);
  });
});
