// The checked-in JSON Schemas are generated from src/protocol (the Python engine validates with them),
// and each guard's schema fragment says what its test says.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { EVENT_PARAMS, PROTOCOL_SCHEMA, REQUEST_PARAMS, parseEngineMessage, parseRequest, resolveConfig } from '../../../src/protocol';

const SCHEMAS = path.resolve(__dirname, '../../../../schemas');

describe('generated schemas', () => {
  it('schemas/protocol.schema.json is the protocol schema (regenerate: npm run schemas)', () => {
    const file = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'protocol.schema.json'), 'utf8'));
    assert.deepEqual(file, JSON.parse(JSON.stringify(PROTOCOL_SCHEMA)));
    assert.deepEqual(Object.keys(file.requests).sort(), Object.keys(REQUEST_PARAMS).sort());
    assert.deepEqual(Object.keys(file.events).sort(), Object.keys(EVENT_PARAMS).sort());
  });

  it('the request schemas accept and refuse what parseRequest does', () => {
    const ajv = new Ajv({ strict: false });
    const cases: [string, unknown][] = [
      ['run/start', { mode: 'dpo', config: {} }],
      ['run/start', { mode: 'ppo', config: {} }],
      ['run/start', { mode: 'dpo' }],
      ['run/resume', { runDir: 3 }],
      ['probe/load', { policyDir: '/p' }],
      ['probe/load', { policyDir: '/p', referenceDir: 1 }],
      ['probe/generate', { which: 'policy', prompt: 'hi', chat: false, sampling: {} }],
      ['probe/generate', { which: 'both', prompt: 'hi', chat: false, sampling: {} }],
      [
        'probe/generate',
        {
          which: 'policy',
          prompt: '',
          chat: true,
          sampling: {},
          messages: [
            { role: 'system', content: 's' },
            { role: 'user', content: 'u' },
          ],
        },
      ],
      ['probe/generate', { which: 'policy', prompt: '', chat: true, sampling: {}, messages: [] }],
      ['probe/generate', { which: 'policy', prompt: '', chat: true, sampling: {}, messages: [{ role: 'tool', content: 'x' }] }],
      ['probe/generate', { which: 'policy', prompt: '', chat: true, sampling: {}, messages: [{ role: 'user', content: 1 }] }],
      ['probe/generate', { which: 'policy', prompt: '', chat: true, sampling: {}, messages: [{ role: 'user', content: 'x', name: 'n' }] }],
      ['probe/score', { prompt: 'a', chat: true, response: 'b', beta: '0.1' }],
      ['run/stop', {}],
    ];
    for (const [type, params] of cases) {
      const byGuard = parseRequest(JSON.stringify({ kind: 'request', id: 1, type, params })).ok;
      const bySchema = ajv.validate(PROTOCOL_SCHEMA.requests[type], params);
      assert.equal(bySchema, byGuard, `${type} ${JSON.stringify(params)}`);
    }
  });

  it('engine/didStart: the tfjs report, and the torch engine without a backend report', () => {
    const hello = (params: unknown) => parseEngineMessage(JSON.stringify({ kind: 'event', type: 'engine/didStart', params })).ok;
    assert.ok(hello({ protocolVersion: 1, pid: 1, backend: { name: 'wasm', skipped: [], forced: false } }), 'an older engine (no engine/device)');
    assert.ok(hello({ protocolVersion: 1, pid: 1, engine: 'torch', device: 'cuda:0', devices: [{ index: 0, name: 'H100', memoryBytes: 8e10 }] }));
    assert.ok(!hello({ protocolVersion: 1, pid: 1, engine: 'jax', device: 'cpu' }));
    assert.ok(!hello({ protocolVersion: 1, pid: 1, engine: 'torch', devices: [{ index: 0 }] }));
    // The webgpu report carries its adapter (an optional field: older hosts ignore it).
    const adapter = {
      vendor: 'apple',
      architecture: 'metal-3',
      device: '',
      description: 'Apple M2',
      software: false,
      featureLevel: 'core',
      limits: { maxBufferSize: 4e9, maxStorageBufferBindingSize: 4e9, maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024 },
    };
    assert.ok(
      hello({ protocolVersion: 1, pid: 1, engine: 'tfjs', device: 'webgpu (Apple M2)', backend: { name: 'webgpu', skipped: [], forced: false, adapter } }),
    );
  });
});

describe('engine-specific config fields', () => {
  const base = { model: '/m', data: '/d' };
  it('the tfjs engine refuses torch-only fields set away from their defaults, naming field and engine', () => {
    assert.throws(() => resolveConfig({ ...base, dtype: 'bf16' }), /dtype: the tfjs engine does not honour it; it is for engine "torch" only/);
    assert.equal(resolveConfig({ ...base, lora_r: 8, merge_lora: true }).lora_r, 8, 'LoRA runs on both engines');
    assert.throws(() => resolveConfig({ ...base, num_processes: 2, dtype: 'bf16' }), /2 invalid field\(s\)[\s\S]*dtype[\s\S]*num_processes/);
    assert.equal(resolveConfig({ ...base, lora_r: 0, dtype: 'fp32' }).engine, 'tfjs', 'defaults are fine');
  });

  it('the torch engine refuses what TRL 1.13 cannot honour, and takes the torch fields', () => {
    for (const [field, value] of [
      ['label_smoothing', 0.1],
      ['reference_free', true],
      ['max_prompt_length', 16],
      ['backend', 'wasm'],
    ] as const) {
      assert.throws(() => resolveConfig({ ...base, engine: 'torch', [field]: value }), new RegExp(`${field}: the torch engine does not honour it \\(`), field);
    }
    const c = resolveConfig({
      ...base,
      engine: 'torch',
      lora_r: 8,
      lora_target_modules: ['c_attn'],
      dtype: 'bf16',
      num_processes: 2,
      accelerate_config: 'ddp',
    });
    assert.deepEqual([c.lora_r, c.dtype, c.num_processes], [8, 'bf16', 2]);
    // sft_weight is an alias of the "sft" loss term, which TRL's DPOTrainer computes.
    assert.equal(resolveConfig({ ...base, engine: 'torch', sft_weight: 0.5 }).sft_weight, 0.5);
  });
});
