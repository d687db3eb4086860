// Records into columns: each metrics.jsonl record a run receives (metrics of either split,
// warnings, status) lands in that run's columns, dispatched on its kind and split.
import { MetricsRecord, RecordLine, metricValue, parseRunRecord } from '../../src/protocol/run-folder';
import { assertNever } from '../../src/protocol/assert-never';
import { Ema } from './smoothing';
import { insertEval } from './eval-columns';
import { isReferenceEval } from './axis-values';
import { CHARTS, RunData, runs, ui } from './state';

export function appendMetrics(run: RunData, r: MetricsRecord): void {
  switch (r.split) {
    case 'eval': {
      const metrics = CHARTS.flatMap((c) => c.metrics);
      const values = metrics.map((m) => metricValue(r, m) ?? NaN);
      // Policy = reference at step 0: every pair ties, and accuracy (strict wins) reads 0 with no pair
      // wrong. The chart leaves that point out and says why; the run line and the tooltip say so too.
      if (isReferenceEval(r.step, metricValue(r, 'rewards/chosen'), metricValue(r, 'rewards/rejected'), metricValue(r, 'rewards/margins'))) {
        run.referenceAt0 = true;
        values[metrics.indexOf('rewards/accuracies')] = NaN;
      }
      insertEval(run.evalSteps, run.evalCols, metrics, r.step, values);
      metrics.forEach((m, i) => Number.isFinite(values[i]) && run.seenEval.add(m));
      return;
    }
    case 'train':
      run.steps.push(r.step);
      run.times.push(r.values.elapsed_seconds ?? NaN);
      for (const c of CHARTS)
        for (const m of c.metrics) {
          if (!run.cols.has(m)) run.cols.set(m, []);
          const v = metricValue(r, m) ?? NaN;
          run.cols.get(m)!.push(v);
          if (Number.isFinite(v)) run.seen.add(m);
          let s = run.smooth.get(m);
          if (!s) run.smooth.set(m, (s = { ema: new Ema(ui.smoothing), values: [] }));
          s.values.push(s.ema.next(v));
        }
      return;
    default:
      assertNever(r.split);
  }
}

/** Adds metrics.jsonl records to a run; returns whether any was a warning. */
export function appendRecords(run: RunData, lines: RecordLine[]): boolean {
  let warned = false;
  for (const line of lines) {
    const parsed = parseRunRecord(line);
    if (!parsed.ok) continue; // the message guard already checked each record
    const r = parsed.value;
    switch (r.kind) {
      case 'metrics':
        appendMetrics(run, r);
        break;
      case 'warning':
        run.warnings.push({ code: r.code, step: r.step, message: r.message });
        warned = true;
        break;
      case 'status':
        run.meta.backend ??= `${r.engine} · ${r.device}`;
        break;
      default:
        assertNever(r);
    }
  }
  return warned;
}

/** Recomputes every smoothed column (the smoothing setting changed). */
export function resmooth(): void {
  for (const run of runs.values()) {
    for (const [m, values] of run.cols) {
      const ema = new Ema(ui.smoothing);
      run.smooth.set(m, { ema, values: values.map((v) => ema.next(v)) });
    }
  }
}
