// test/conformance/protocol: raw request lines -> a request or an error reply, on the embedded
// engine's parseRequest (python/tests/test_conformance.py runs the same cases on parse_request).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseRequest } from '../../../src/protocol';
import { lineOf, loadCases } from './cases';

interface ProtocolCase {
  line?: string;
  line_parts?: [string | { hex: string }, number][];
  expect: { request?: { type: string; id: number; params?: unknown }; error?: { id: number | null; contains: string } };
}

for (const doc of loadCases<ProtocolCase>('protocol')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, () => {
        const r = parseRequest(lineOf(c)); // a throw fails the case: never an exception
        if (c.expect.request) {
          assert.ok(r.ok, `expected a request, got error: ${!r.ok ? r.error : ''}`);
          assert.equal(r.value.type, c.expect.request.type);
          assert.ok(Object.is(r.value.id, c.expect.request.id), `id ${r.value.id} (expected ${c.expect.request.id})`);
          if (c.expect.request.params !== undefined) assert.deepEqual(r.value.params, c.expect.request.params);
        } else {
          const e = c.expect.error!;
          assert.equal(r.ok, false, 'expected an error reply');
          assert.ok(!r.ok && r.error.includes(e.contains), `error ${JSON.stringify(!r.ok && r.error.slice(0, 300))} lacks ${JSON.stringify(e.contains)}`);
          assert.equal(r.id ?? null, e.id);
        }
      });
    }
  });
}
