// test/conformance/health: metric streams -> warnings, on the embedded engine's HealthMonitor
// (python/tests/test_conformance.py feeds the same streams to the torch engine's).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DpoConfig, EngineName, HealthWarning, parseMetricsRecord } from '../../../src/protocol';
import { HealthMonitor } from '../../../src/engine/train/health';
import { loadCases } from './cases';

interface HealthCase {
  settings: {
    stuck_steps: number;
    falling_window: number;
    /** A name or a list; names the engines do not take yet (simpo, orpo, kto) are fine here. */
    loss_type: DpoConfig['loss_type'] | string;
    loss_weights?: number[];
    has_eval: boolean;
    learning_rate: number;
    beta: number;
    sft_weight: number;
    engine: EngineName;
  };
  stream: unknown[];
  expect: HealthWarning[];
}

for (const doc of loadCases<HealthCase>('health')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, () => {
        const s = c.settings;
        const h = new HealthMonitor({
          stuckSteps: s.stuck_steps,
          fallingWindow: s.falling_window,
          lossType: s.loss_type,
          hasEval: s.has_eval,
          learningRate: s.learning_rate,
          beta: s.beta,
          sftWeight: s.sft_weight,
          lossWeights: s.loss_weights,
          engine: s.engine,
        });
        const out: HealthWarning[] = [];
        for (const raw of c.stream) {
          const r = parseMetricsRecord(raw);
          assert.ok(r.ok, `case record: ${!r.ok && r.error}`);
          out.push(...(r.value.split === 'eval' ? h.observeEval(r.value) : h.observe(r.value)));
        }
        assert.deepEqual(out, c.expect);
      });
    }
  });
}
