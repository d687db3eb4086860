// The CLI's progress line must survive any counts an engine reports: a resume of a run killed while
// writing final/ reported done > total, and `' '.repeat(-4)` ended every such resume.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProgressLine, barCells } from '../../../src/cli/progress';

/** A non-TTY stream that keeps what is written. */
function sink(): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const out = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => text };
}

describe('the progress line', () => {
  it('fills the bar in proportion, within 0..width', () => {
    assert.equal(barCells(0, 10, 24), 0);
    assert.equal(barCells(5, 10, 24), 12);
    assert.equal(barCells(10, 10, 24), 24);
    assert.equal(barCells(14, 10, 24), 24); // done > total
    assert.equal(barCells(-3, 10, 24), 0);
    assert.equal(barCells(3, 0, 24), 0);
    assert.equal(barCells(3, -2, 24), 0);
    assert.equal(barCells(NaN, 10, 24), 0);
    assert.equal(barCells(3, NaN, 24), 0);
  });

  for (const [done, total] of [
    [14, 10],
    [-4, 10],
    [3, 0],
    [NaN, 10],
    [5, NaN],
    [Infinity, 10],
  ]) {
    it(`draws step ${done}/${total} without throwing, bar 24 cells wide`, () => {
      const s = sink();
      const p = new ProgressLine(s.out);
      p.phase('training', done, total);
      p.phase('training', done, total);
      p.phase('saving', done, total, 'final/');
      const bar = /\[(.*)\]/.exec(s.text());
      assert.ok(bar, s.text());
      assert.equal(bar[1].length, 24);
      assert.doesNotMatch(s.text(), /undefined/);
    });
  }

  it('ends the line once a run reaches its last step, and past it', () => {
    const s = sink();
    const p = new ProgressLine(s.out);
    p.phase('training', 12, 10);
    assert.match(s.text(), /^step 12\/10 \[=+>\].*ETA \S+\n$/);
  });
});
