// test/conformance/config: partial run configs -> the refused fields, on resolveConfig (the torch
// engine's schemas.resolve_config runs the same cases in python/tests/test_conformance.py).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigError, resolveConfig } from '../../../src/protocol';
import { loadCases } from './cases';

interface ConfigCase {
  partial?: Record<string, unknown>;
  partial_json?: string;
  expect: Record<'tfjs' | 'torch', { field: string; contains: string }[]>;
}

for (const doc of loadCases<ConfigCase>('config')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, () => {
        const partial = c.partial ?? (JSON.parse(c.partial_json!) as Record<string, unknown>);
        let problems: { field: string; message: string }[] = [];
        try {
          resolveConfig(partial, 'case');
        } catch (err) {
          assert.ok(err instanceof ConfigError, String(err));
          problems = err.problems;
        }
        const want = c.expect.tfjs;
        assert.deepEqual([...new Set(problems.map((p) => p.field))].sort(), [...new Set(want.map((w) => w.field))].sort(), JSON.stringify(problems));
        for (const w of want)
          assert.ok(
            problems.some((p) => p.field === w.field && p.message.includes(w.contains)),
            `${w.field}: no message holds ${JSON.stringify(w.contains)}`,
          );
      });
    }
  });
}
