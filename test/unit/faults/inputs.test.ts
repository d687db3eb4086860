// Hostile or broken inputs (issue #17): each gets a clear error naming its file, line or field, and
// none crashes or hangs the process. The fault suite (npm run test:faults) runs many more of each.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { tempDir, tinyModel, writeJsonl } from '../helpers/fixtures';
import { MetricsRecord, parseRequest, requestLine, resolveConfig } from '../../../src/protocol';
import { readLines } from '../../../src/engine/line-reader';
import { readPreferenceFile } from '../../../src/engine/data/preferences';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { encodeSafetensors, readSafetensors } from '../../../src/engine/model/safetensors';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { UntrustedTokenizer } from '../../../src/engine/tokenizer/untrusted';
import { HealthMonitor } from '../../../src/engine/train/health';
import { Command } from 'commander';
import { addConfigFlags, flagValues } from '../../../src/cli/config-flags';

const root = tempDir('faults-inputs');
const model = tinyModel(path.join(root, 'model'), { layers: 1, dModel: 16, heads: 2, maxPositions: 32 });

/** A copy of the tiny model with edits to one of its JSON files. */
function variant(name: string, file: string, edit: (j: Record<string, unknown>) => void): string {
  const dir = path.join(root, name);
  fs.cpSync(model, dir, { recursive: true });
  const j = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  edit(j);
  fs.writeFileSync(path.join(dir, file), JSON.stringify(j));
  return dir;
}

describe('hostile inputs', () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  it('config numbers that parse to Infinity are refused by field', () => {
    const raw = JSON.parse('{"model": "m", "data": "d", "learning_rate": 1e400, "max_steps": 1e400, "batch_size": -1e400}');
    assert.throws(
      () => resolveConfig(raw, 'run.json'),
      (e: Error) =>
        /run\.json/.test(e.message) &&
        /learning_rate: must be a finite number, got Infinity/.test(e.message) &&
        /max_steps: must be a finite number/.test(e.message) &&
        /batch_size: must be a finite number, got -Infinity/.test(e.message),
    );
  });

  it('--max-steps null and --reference-model null are accepted, as the help shows null as their default', () => {
    const cmd = addConfigFlags(new Command('train')).exitOverride();
    cmd.parse(['--max-steps', 'null', '--reference-model', 'null', '--max-prompt-length', '8'], { from: 'user' });
    const v = flagValues(cmd.opts());
    assert.deepEqual(v, { reference_model: null, max_steps: null, max_prompt_length: 8 });
    assert.equal(resolveConfig({ model: '/m', data: '/d', ...v }).max_steps, null);
  });

  it('request types named like Object.prototype members are rejected, not executed', () => {
    for (const type of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const r = parseRequest(JSON.stringify({ kind: 'request', id: 1, type, params: {} }));
      assert.ok(!r.ok && /unknown request type/.test(r.error), type);
    }
  });

  it('probe sampling settings are checked by field', () => {
    const gen = (sampling: Record<string, unknown>) => parseRequest(requestLine(1, 'probe/generate', { which: 'policy', prompt: 'hi', chat: false, sampling }));
    assert.ok(gen({ stop: ['x'], topK: 5, temperature: 0.7 }).ok);
    for (const [s, field] of [
      [{ stop: 'x' }, 'stop'],
      [{ topK: -1 }, 'topK'],
      [{ temperature: -1 }, 'temperature'],
      [{ topP: 2 }, 'topP'],
    ] as const) {
      const r = gen(s);
      assert.ok(!r.ok && r.error.includes(`params.sampling.${field} must`), JSON.stringify(s));
    }
  });

  it('an over-long line is dropped as it arrives and reported; the next line is read', async () => {
    const got: string[] = [];
    const input = Readable.from([Buffer.from('{"a":1}\n' + 'x'.repeat(3000)), Buffer.from('y'.repeat(3000) + '\n{"b":2}\n')]);
    await new Promise<void>((resolve) =>
      readLines(input, { line: (l) => got.push(l), tooLong: (head, bytes) => got.push(`too long ${bytes} ${head.length}`), close: resolve }, 1000),
    );
    assert.deepEqual(got, ['{"a":1}', 'too long 6000 500', '{"b":2}']);
  });

  it('bad data lines are named by line: deep nesting, contradicting labels, bad UTF-8; skip_bad_lines skips them', () => {
    const file = path.join(root, 'bad.jsonl');
    const ok = { prompt: 'p', chosen: 'a', rejected: 'b' };
    const deep = `{"prompt": "p", "chosen": "a", "rejected": "b", "meta": ${'['.repeat(100000)}${']'.repeat(100000)}}`;
    writeJsonl(file, [ok, deep, { ...ok, responses: ['a', 'b'], label: 'b' }, { ...ok, label: 'tie' }, ok]);
    fs.appendFileSync(file, Buffer.concat([Buffer.from('{"prompt": "p'), Buffer.from([0xff, 0xfe]), Buffer.from('", "chosen": "a", "rejected": "b"}\n')]));
    assert.throws(
      () => readPreferenceFile(file),
      (e: Error) =>
        /bad\.jsonl:2: .*nested more than/.test(e.message) &&
        /bad\.jsonl:3: field 'chosen': .*order the label says/.test(e.message) &&
        /bad\.jsonl:4: field 'label': "tie" but "chosen"\/"rejected" are set/.test(e.message) &&
        /bad\.jsonl:6: not valid UTF-8 \(byte 14/.test(e.message),
    );
    assert.deepEqual(
      readPreferenceFile(file, { skipBadLines: true }).pairs.map((p) => p.line),
      [1, 5],
    );
  });

  it('model config fields and weights that would give NaN are named with their file', () => {
    assert.throws(
      () => readModelWeights(variant('eps', 'config.json', (j) => (j.layer_norm_epsilon = -1))),
      /eps\/config\.json: field 'layer_norm_epsilon' must be > 0, got -1/,
    );
    const llama = tinyModel(path.join(root, 'llama'), { family: 'llama', layers: 1, dModel: 16, heads: 2, maxPositions: 32 });
    const cfg = JSON.parse(fs.readFileSync(path.join(llama, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(llama, 'config.json'), JSON.stringify({ ...cfg, rope_theta: 0 }));
    assert.throws(() => readModelWeights(llama), /llama\/config\.json: field 'rope_theta' must be > 0, got 0/);
    const nan = path.join(root, 'nan');
    fs.cpSync(model, nan, { recursive: true });
    const file = path.join(nan, 'model.safetensors');
    const st = readSafetensors(file);
    const bytes = Buffer.from(st.bytes);
    const [begin] = st.tensors.get('transformer.ln_f.weight')!.dataOffsets;
    bytes.writeFloatLE(NaN, st.dataStart + begin + 4);
    fs.writeFileSync(file, bytes);
    assert.throws(() => readModelWeights(nan), /nan\/model\.safetensors: tensor 'transformer\.ln_f\.weight' holds NaN at index 1/);
  });

  it('overlapping tensor offsets in a safetensors header are refused', () => {
    const file = path.join(root, 'overlap.safetensors');
    const good = encodeSafetensors([
      { name: 'a', shape: [2], data: new Float32Array(2) },
      { name: 'b', shape: [2], data: new Float32Array(2) },
    ]);
    const json = good
      .subarray(8, 8 + Number(good.readBigUInt64LE(0)))
      .toString()
      .replace('"data_offsets":[8,16]', '"data_offsets":[4,12]');
    const header = Buffer.from(json);
    const out = Buffer.alloc(8 + header.length + 16);
    out.writeBigUInt64LE(BigInt(header.length));
    header.copy(out, 8);
    fs.writeFileSync(file, out);
    assert.throws(() => readSafetensors(file), /overlap\.safetensors: tensors 'a' \[0,8\] and 'b' \[4,12\] overlap/);
  });

  it('a tokenizer with an empty vocabulary is refused', () => {
    const dir = variant('empty-vocab', 'tokenizer.json', (j) => {
      (j.model as Record<string, unknown>).vocab = {};
      (j.model as Record<string, unknown>).merges = [];
      j.added_tokens = [];
    });
    assert.throws(() => loadTokenizer(dir), /empty-vocab\/tokenizer\.json: the vocabulary is empty/);
  });

  it('chat templates that loop without end or raise are stopped and name their file', () => {
    const bomb = variant('bomb', 'tokenizer_config.json', (j) => (j.chat_template = '{% for i in range(1000000000) %}x{% endfor %}'));
    assert.throws(
      () => loadTokenizer(bomb).applyChatTemplate([{ role: 'user', content: 'hi' }], true),
      /bomb\/tokenizer_config\.json: chat template: range\(\) would make over 100,000 elements/,
    );
    const raises = variant('raises', 'tokenizer_config.json', (j) => (j.chat_template = "{{ raise_exception('roles must alternate') }}"));
    assert.throws(
      () => loadTokenizer(raises).applyChatTemplate([{ role: 'user', content: 'hi' }], true),
      /raises\/tokenizer_config\.json: chat template: roles must alternate/,
    );
  });

  it('a tokenizer pattern that backtracks catastrophically is stopped and named', () => {
    const dir = variant(
      'redos',
      'tokenizer.json',
      (j) => (j.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false }),
    );
    const t = new UntrustedTokenizer({ tokenizerFile: path.join(dir, 'tokenizer.json') }, 1500);
    assert.deepEqual(t.call({ op: 'encode', text: 'aa', addSpecialTokens: false }), [97, 97]);
    assert.throws(
      () => t.call({ op: 'encode', text: 'a'.repeat(40) + '!', addSpecialTokens: false }),
      /tokenizing a 41-character text with .*redos\/tokenizer\.json did not finish within 1\.5 s/,
    );
    assert.deepEqual(t.call({ op: 'encode', text: 'ab', addSpecialTokens: false }), [97, 98], 'a fresh worker serves the next call');
    t.dispose();
  });

  const train = (step: number, values: Record<string, number>): MetricsRecord => ({ kind: 'metrics', split: 'train', step, epoch: 0, values });

  it('falling-logps: silent on noisy per-batch train values, fires on a steady held-out fall with fitting advice', () => {
    const settings = { stuckSteps: 10, fallingWindow: 20, lossType: 'sigmoid' as const, learningRate: 5e-4, beta: 0.1, sftWeight: 0 };
    const noisy = new HealthMonitor({ ...settings, hasEval: false });
    // Per-batch values that differ by batch (±8 nats) around a flat mean: no trend.
    const fired = Array.from({ length: 60 }, (_, i) =>
      noisy.observe(train(i + 1, { loss: 0.6, 'logps/chosen': -40 + 8 * Math.sin(i * 2.3) - (i % 5 === 0 ? 6 : 0) })),
    );
    assert.deepEqual(fired.flat(), []);
    const withEval = new HealthMonitor({ ...settings, hasEval: true });
    assert.deepEqual(
      Array.from({ length: 30 }, (_, i) => withEval.observe(train(i + 1, { loss: 0.6, 'logps/chosen': -40 - i }))).flat(),
      [],
      'train values are not read when eval values exist',
    );
    const evals = [-40, -40.5, -41.2, -42].map((v, i) =>
      withEval.observeEval({
        kind: 'metrics',
        split: 'eval',
        step: i * 10,
        epoch: 0,
        values: { eval_loss: 0.6, 'eval_logps/chosen': v, 'eval_rewards/margins': i * 0.1 },
      }),
    );
    const w = evals.flat();
    assert.equal(w.length, 1);
    assert.equal(w[0].code, 'falling-chosen-logps');
    assert.match(
      w[0].message,
      /held-out logps\/chosen fell over 3 evaluations \(-40\.00 → -41\.20\) while the reward margin rose.*sft_weight > 0.*lower learning_rate \(now 0\.0005\)/,
    );
    const steady = new HealthMonitor({ ...settings, hasEval: false });
    assert.equal(
      Array.from({ length: 20 }, (_, i) => steady.observe(train(i + 1, { loss: 0.6, 'logps/chosen': -40 - 0.5 * i }))).flat().length,
      1,
      'a real train trend still warns',
    );
  });
});
