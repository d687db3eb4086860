// The kernels' thread pool (src/engine/kernels/attention-threads.ts) when a worker stops making
// progress mid-unit (a thread that hangs or dies): the caller's wait ends with a named error after
// the stall limit instead of hanging the engine, and the pool refuses further jobs. The kernel here
// is a hand-assembled module whose unit spins forever on a worker thread and does a little work on
// the calling thread, so the stall is certain once a worker has claimed a unit.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { KernelThreads, setAttentionStallMs } from '../../../../src/engine/kernels/attention-threads';

/**
 * (func (export "spin") (param $work i32) (param $unit i32) (local $n i32)
 *   (if (local.get $work)                       ;; a worker: its work pointer is advanced by its index
 *     (then (loop $forever (br $forever)))
 *     (else (local.set $n (i32.const 200000))   ;; the caller: ~0.1 ms of counting
 *           (loop $count (br_if $count (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))))
 */
// prettier-ignore
const SPIN_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00, // type: (i32, i32) -> ()
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x07, 0x08, 0x01, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, // export "spin"
  0x0a, 0x23, 0x01, 0x21, 0x01, 0x01, 0x7f, // code: one body, one i32 local
  0x20, 0x00, 0x04, 0x40, // local.get 0; if
  0x03, 0x40, 0x0c, 0x00, 0x0b, // loop; br 0; end
  0x05, 0x41, 0xc0, 0x9a, 0x0c, 0x21, 0x02, // else; i32.const 200000; local.set 2
  0x03, 0x40, 0x20, 0x02, 0x41, 0x01, 0x6b, 0x22, 0x02, 0x0d, 0x00, 0x0b, // loop; n = n − 1; br_if 0; end
  0x0b, 0x0b, // end if; end func
]);

describe('kernel threads when a worker stalls', () => {
  after(() => setAttentionStallMs(60_000));

  it('ends the wait with a named error after the stall limit, and refuses the next job', { timeout: 60_000 }, () => {
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: object } } })
      .WebAssembly;
    const module = new wasm.Module(SPIN_MODULE);
    const kernel = new wasm.Instance(module).exports;
    setAttentionStallMs(300);
    const pool = new KernelThreads(2, module, {}, { exports: ['spin'], what: 'test kernel', avoid: 'THE_FLAG=0' });
    const started = Date.now();
    // Work pointer 0 on the calling thread, 1 on worker 1 (stride 1): only the worker spins.
    assert.throws(
      () => pool.runUnits(kernel, 'spin', 10_000, [0], 0, 1),
      /test kernel's worker threads: a test kernel worker thread has not finished its units for 0\.3 s \(it may have died\); run with THE_FLAG=0 to avoid them/,
    );
    assert.ok(Date.now() - started < 30_000, 'the stall limit was not what ended the wait');
    assert.throws(() => pool.runUnits(kernel, 'spin', 1, [0], 0, 1), /test kernel's worker threads: a test kernel worker thread has not finished/);
    pool.close();
  });
});
