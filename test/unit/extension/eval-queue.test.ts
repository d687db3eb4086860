import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EvalJob, progressText, redact, runEvalJobs } from '../../../src/extension/eval-queue';
import type { EvalHooks, EvalOptions } from '../../../src/node/eval/run-eval';
import type { EvalSummary } from '../../../src/protocol';

const job = (label: string, engine: 'tfjs' | 'torch' = 'tfjs'): EvalJob => ({
  model: `/runs/${label}/final`,
  out: `/runs/${label}/eval/final`,
  label,
  engine,
  reference: '/base',
  fromRun: true,
});
const shared = { samples: 2, maxNewTokens: 16, seed: 0, temperature: 1, judge: { url: 'http://127.0.0.1:9/v1', model: 'j', apiKey: 'sk-SECRET-1' } };
const summary = (kl: number) => ({ kl }) as unknown as EvalSummary;

describe('evaluating several models in turn (DPO: Evaluate Model)', () => {
  it('progress says phase, done/total and the ETA at the rate so far (none before the first item)', () => {
    assert.equal(progressText({ phase: 'sampling', done: 0, total: 40 }, 0, 5000), 'sampling 0/40');
    // 10 of 40 in 20 s: 30 left at 2 s each.
    assert.equal(progressText({ phase: 'sampling', done: 10, total: 40 }, 0, 20_000), 'sampling 10/40 · ETA 1m00s');
    assert.equal(progressText({ phase: 'judging', done: 3, total: 3 }, 0, 9000), 'judging 3/3');
    assert.equal(progressText({ phase: 'loading', done: 0, total: 0, message: 'policy' }, 0, 10), 'loading · policy');
  });

  it('runs each model with its own folder, engine and reference, one after another, and masks the judge key in logs', async () => {
    const calls: EvalOptions[] = [];
    const logs: string[] = [];
    const texts: string[] = [];
    const fractions: number[] = [];
    let t = 0;
    let running = 0;
    const fake = async (o: EvalOptions, h: EvalHooks) => {
      running++;
      assert.equal(running, 1, 'never two evaluations at once');
      calls.push(o);
      h.log?.(`judging with key ${o.judge?.apiKey}`);
      for (let i = 1; i <= 4; i++) {
        t += 1000;
        h.onProgress?.({ phase: 'sampling', done: i, total: 4 });
      }
      await new Promise(setImmediate);
      running--;
      return summary(calls.length);
    };
    const r = await runEvalJobs([job('a'), job('b', 'torch')], shared, fake, {
      log: (l) => logs.push(l),
      onProgress: (text, f) => (texts.push(text), fractions.push(f)),
      now: () => t,
    });
    assert.deepEqual(
      calls.map((c) => [c.model, c.out, c.engine, c.reference, c.samples, c.judge?.apiKey]),
      [
        ['/runs/a/final', '/runs/a/eval/final', 'tfjs', '/base', 2, 'sk-SECRET-1'],
        ['/runs/b/final', '/runs/b/eval/final', 'torch', '/base', 2, 'sk-SECRET-1'],
      ],
    );
    assert.deepEqual(
      r.done.map((d) => d.summary.kl),
      [1, 2],
    );
    assert.ok(logs.some((l) => l.includes('judging with key ***')));
    assert.ok(!logs.some((l) => l.includes('sk-SECRET-1')), 'the key never reaches the log');
    assert.ok(texts.includes('2/2 b: sampling 2/4 · ETA 2s'), texts.join('\n'));
    assert.deepEqual([fractions[0], fractions[fractions.length - 1]], [0, 1]);
  });

  it('a failure is reported and the next model still runs; cancel aborts the running one and skips the rest', async () => {
    const seen: string[] = [];
    const failing = async (o: EvalOptions) => {
      seen.push(o.model);
      if (o.model.includes('/a/')) throw new Error('bad prompts file, key sk-SECRET-1');
      return summary(0);
    };
    const r1 = await runEvalJobs([job('a'), job('b')], shared, failing);
    assert.deepEqual(seen, ['/runs/a/final', '/runs/b/final']);
    assert.deepEqual(
      r1.failed.map((f) => f.error),
      ['bad prompts file, key ***'],
    );
    assert.equal(r1.done.length, 1);

    const abort = new AbortController();
    const started: string[] = [];
    const slow = (o: EvalOptions, h: EvalHooks) =>
      new Promise<EvalSummary>((_resolve, reject) => {
        started.push(o.model);
        h.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        setImmediate(() => abort.abort());
      });
    const r2 = await runEvalJobs([job('a'), job('b'), job('c')], shared, slow, { signal: abort.signal });
    assert.deepEqual(started, ['/runs/a/final']);
    assert.deepEqual([r2.cancelled, r2.done.length, r2.failed.length], [true, 0, 0]);
  });

  it('redact masks every copy of the secret and leaves text alone without one', () => {
    assert.equal(redact('a k b k', 'k'), 'a *** b ***');
    assert.equal(redact('nothing', undefined), 'nothing');
  });
});
