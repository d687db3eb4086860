// The wasm preflight: the peak estimate from config.json, the refusal of a run over the 4 GiB heap
// (with its numbers and what to change, before any weight is loaded), and the allocator failures
// that become the same clear message.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../../../src/protocol';
import { parseModelConfig } from '../../../src/engine/model/config';
import {
  WASM_HEAP_BYTES,
  estimateTrainingMemory,
  isAllocatorFailure,
  outOfMemoryMessage,
  parameterCount,
  preflightRefusal,
} from '../../../src/engine/train/memory-plan';
import { Trainer } from '../../../src/engine/train/trainer';
import { selectBackend } from '../../../src/engine/backend';
import { WasmHeapExhausted, guardMalloc } from '../../../src/engine/wasm-heap';
import { tempDir } from '../helpers/fixtures';
import { sharpModel, writePairs } from '../helpers/wiring-runs';

const root = tempDir('memory-plan');

function gpt2(layers: number, d: number, heads: number) {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: d,
    n_layer: layers,
    n_head: heads,
    layer_norm_epsilon: 1e-5,
  };
}

const knobs = (fields: Record<string, unknown> = {}) => resolveConfig({ model: 'm', data: 'd.jsonl', output_dir: 'o', batch_size: 2, ...fields });

describe('memory preflight', () => {
  it("counts GPT-2-small's 124,439,808 parameters from config.json alone", () => {
    assert.equal(parameterCount(parseModelConfig(gpt2(12, 768, 12))), 124_439_808);
  });

  it('a live reference costs its weights; precomputing removes exactly that; the parts add up', () => {
    const m = parseModelConfig(gpt2(12, 768, 12));
    const live = estimateTrainingMemory(m, undefined, knobs(), 256);
    const cached = estimateTrainingMemory(m, undefined, knobs({ precompute_ref_log_probs: true }), 256);
    assert.equal(live.total - cached.total, 8 * 124_439_808); // weights and packed copies
    assert.equal(
      live.total,
      live.parts.reduce((a, p) => a + p.bytes, 0),
    );
    // Longer sequences and more pairs cost more; SFT has no reference and half the rows.
    assert.ok(estimateTrainingMemory(m, undefined, knobs(), 512).total > live.total);
    assert.ok(estimateTrainingMemory(m, undefined, knobs({ batch_size: 4 }), 256).total > live.total);
    assert.ok(estimateTrainingMemory(m, undefined, knobs({ mode: 'sft' }), 256).total < cached.total);
  });

  it("AdamW's moments (JS arrays on wasm) count for the process, not against the heap", () => {
    const m = parseModelConfig(gpt2(12, 768, 12));
    const c = knobs({ precompute_ref_log_probs: true, gradient_checkpointing: true });
    const host = estimateTrainingMemory(m, undefined, c, 256); // wasm's placement, the default
    const device = estimateTrainingMemory(m, undefined, c, 256, 'device');
    const moments = 2 * 4 * 124_439_808;
    assert.deepEqual(
      host.outsideHeap.map((p) => p.bytes),
      [moments],
    );
    assert.equal(device.outsideHeap.length, 0);
    assert.ok(device.parts.some((p) => /AdamW moments/.test(p.what)));
    assert.ok(!host.parts.some((p) => /AdamW moments/.test(p.what)));
    assert.equal(device.total - host.total, moments);
    assert.equal(host.processTotal, host.total + moments);
    assert.equal(device.processTotal, device.total);
    assert.match(
      preflightRefusal(host, c, 256, 1) ?? '',
      /outside the heap, AdamW moments \(JS arrays outside the heap\) 0\.93 GiB: \d+\.\d\d GiB for the process/,
    );
  });

  // bench/RESULTS.md 2026-11-26 (moments off the heap; "heap" is the wasm memory's size at exit).
  it('admits full DPO of GPT-2-small at 256 x 2 pairs as measured to run, not below the heap it took', () => {
    const m = parseModelConfig(gpt2(12, 768, 12));
    for (const [fields, heapGiB] of [
      [{ precompute_ref_log_probs: true, gradient_checkpointing: true }, 2.83],
      [{ gradient_checkpointing: true }, 3.63], // live reference
    ] as const) {
      const c = knobs(fields);
      const e = estimateTrainingMemory(m, undefined, c, 256);
      assert.equal(preflightRefusal(e, c, 256), undefined, JSON.stringify(fields));
      assert.ok(e.total >= heapGiB * 1024 ** 3, `the estimate (${e.total}) is below the measured heap, ${heapGiB} GiB`);
      // The process holds the heap plus the moments (its peak RSS adds Node and the save's copies).
      assert.ok(e.processTotal >= (heapGiB + 0.93) * 1024 ** 3, `${e.processTotal}`);
    }
  });

  it('refuses the runs measured out of memory with the moments off the heap', () => {
    const noCheckpointing = knobs({ precompute_ref_log_probs: true });
    const gpt2Small = parseModelConfig(gpt2(12, 768, 12));
    assert.ok(preflightRefusal(estimateTrainingMemory(gpt2Small, undefined, noCheckpointing, 256), noCheckpointing, 256));
    const c = knobs(); // 4 layers, d 512, live reference, 512 x 2 pairs
    assert.ok(preflightRefusal(estimateTrainingMemory(parseModelConfig(gpt2(4, 512, 8)), undefined, c, 512), c, 512));
  });

  it('refuses GPT-2-small with a live reference at 512 x 2 pairs, with the numbers and what to change', () => {
    const m = parseModelConfig(gpt2(12, 768, 12));
    const c = knobs();
    const e = estimateTrainingMemory(m, undefined, c, 512);
    assert.ok(e.total > WASM_HEAP_BYTES);
    const text = preflightRefusal(e, c, 512)!;
    assert.match(text, /does not fit the wasm backend's memory: estimated peak \d+\.\d\d GiB for 124,439,808 parameters/);
    assert.match(text, /over the 4\.00 GiB heap/);
    assert.match(text, /batch_size 1 \(with gradient_accumulation_steps 2/);
    assert.match(text, /precompute_ref_log_probs: true/);
    assert.match(text, /max_length \(the longest sequence is 512 tokens\)/);
    // A 2-layer d-128 model fits: no refusal.
    const small = parseModelConfig(gpt2(2, 128, 2));
    assert.equal(preflightRefusal(estimateTrainingMemory(small, undefined, c, 512), c, 512), undefined);
  });

  // bench/RESULTS.md 2026-12-03: admitted at 3.78 GiB, this run aborted at the 4 GiB heap; at 1 pair it
  // ran with the heap at 3.006 GiB.
  it('refuses GPT-2-small LoRA r16 at 128 x 2 pairs without recomputed blocks, and says to recompute them', () => {
    const m = parseModelConfig(gpt2(12, 768, 12));
    const c = knobs({ lora_r: 16 });
    const e = estimateTrainingMemory(m, undefined, c, 128);
    const text = preflightRefusal(e, c, 128);
    assert.ok(text, `admitted at ${e.total}`);
    assert.match(text, /gradient_checkpointing: true/);
    assert.match(text, /batch_size 1/);
    assert.match(text, /temporaries and allocator fragmentation \(measured: 3\.3x the activations without recomputed blocks\)/);
    // What the message suggests fits: the same run with recomputed blocks, or at one pair.
    const recomputed = knobs({ lora_r: 16, gradient_checkpointing: true });
    assert.equal(preflightRefusal(estimateTrainingMemory(m, undefined, recomputed, 128), recomputed, 128), undefined);
    const onePair = knobs({ lora_r: 16, batch_size: 1 });
    const one = estimateTrainingMemory(m, undefined, onePair, 128);
    assert.equal(preflightRefusal(one, onePair, 128), undefined);
    assert.ok(one.total >= 3.006 * 1024 ** 3, `the estimate (${one.total}) is below the measured heap, 3.006 GiB`);
  });

  it('a failed malloc throws the out-of-memory error instead of handing tfjs address 0', () => {
    // A module whose heap cannot grow: emscripten's malloc returns 0, which tfjs would use as an address.
    let heapFull = false;
    const module = { _malloc: (n: number) => (heapFull ? 0 : 1024 + n), HEAPU8: new Uint8Array(64) };
    guardMalloc(module);
    guardMalloc(module); // idempotent: one wrapper
    assert.equal(module._malloc(16), 1040);
    heapFull = true;
    assert.throws(
      () => module._malloc(3 * 2 ** 20),
      (err: unknown) => {
        assert.ok(err instanceof WasmHeapExhausted);
        assert.equal(err.requested, 3 * 2 ** 20);
        assert.match(err.message, /Out of memory: the wasm heap could not grow to hold 3\.0 MiB more/);
        assert.ok(isAllocatorFailure(err));
        return true;
      },
    );
    // A trainer's wrapper around it still reads as an allocator failure (through `cause`).
    assert.ok(isAllocatorFailure(new Error('step 3 failed', { cause: new WasmHeapExhausted(8, 64) })));
  });

  it('recognises the allocator failures, and only those', () => {
    for (const m of [
      'Aborted(). Build with -sASSERTIONS for more info.',
      'memory access out of bounds',
      'table index is out of bounds',
      'Array buffer allocation failed',
      'XNN status for xnn_create_fully_connected_nc_f32 is not successful. Got status 6. Use -c dbg to see XNN logs.',
      'WebAssembly.Memory.grow(): Maximum memory size exceeded',
    ]) {
      assert.ok(isAllocatorFailure(new Error(m)), m);
    }
    assert.ok(isAllocatorFailure(new RangeError('Array buffer allocation failed')));
    assert.ok(!isAllocatorFailure(new Error('data.jsonl line 3: missing "chosen"')));
    assert.ok(!isAllocatorFailure(new Error('XNN status for xnn_create_softmax_nc_f32 is not successful. Got status 2.'))); // invalid parameter
    assert.ok(!isAllocatorFailure(new Error('step failed', { cause: new Error('NaN loss') })));
    const text = outOfMemoryMessage('wasm', undefined, knobs(), 512);
    assert.match(text, /the wasm backend ran out of memory \(its heap is at most 4\.00 GiB\)/);
    assert.match(text, /precompute_ref_log_probs: true/);
    assert.match(text, /The last checkpoint stands/);
  });

  it('a run on wasm over the heap stops before loading, and the status record says why', async () => {
    const model = sharpModel(path.join(root, 'policy'), 1);
    // The reference is only a config.json (GPT-2-XL's shape): the preflight reads nothing else.
    const ref = path.join(root, 'xl');
    fs.mkdirSync(ref, { recursive: true });
    fs.writeFileSync(path.join(ref, 'config.json'), JSON.stringify(gpt2(48, 1600, 25)));
    const out = path.join(root, 'run');
    const config = resolveConfig({
      model,
      reference_model: ref,
      data: writePairs(path.join(root, 'pairs.jsonl')),
      output_dir: out,
      max_steps: 1,
      eval_fraction: 0,
    });
    const trainer = Trainer.create(config, { backend: await selectBackend('wasm') });
    await assert.rejects(trainer.run(), /does not fit the wasm backend's memory: estimated peak .*precompute_ref_log_probs: true/);
    const status = fs
      .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind?: string; status?: string; message?: string })
      .filter((r) => r.kind === 'status')
      .pop()!;
    assert.equal(status.status, 'failed');
    assert.match(status.message!, /live reference weights and their packed copies/);
  });
});
