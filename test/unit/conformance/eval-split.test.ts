// test/conformance/eval-split: the held-out pairs of a run without eval_data, the rule the torch
// engine (python/tests/test_conformance.py) and `dpo eval` share with the embedded engine.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Rng, heldOutIndices } from '../../../src/protocol';
import { loadCases } from './cases';

interface SplitCase {
  n: number;
  fraction: number;
  seed: number;
  expect_held_out: number[];
}

describe('conformance: the eval split', () => {
  for (const file of loadCases<SplitCase>('eval-split')) {
    const doc = file as typeof file & { rng: { seed: number; expect_first_uint32: number[] } };
    it(`the generator's first draws (${file.file})`, () => {
      const r = new Rng(doc.rng.seed);
      assert.deepEqual(
        doc.rng.expect_first_uint32.map(() => r.nextUint32()),
        doc.rng.expect_first_uint32,
      );
    });
    for (const c of file.cases) it(c.name, () => assert.deepEqual(heldOutIndices(c.n, c.fraction, c.seed), c.expect_held_out));
  }
});
