// The JSON Schema of the run folder's records, built from the same constants as the types and
// guards in run-folder.ts, for engines written in other languages (the PyTorch engine validates
// what it writes against it). `npm run schemas` writes it to schemas/run-records.schema.json; a
// unit test fails when the checked-in file drifts, and another that the guards agree with it.
// Writers must match it exactly; the TypeScript readers are lenient (extra fields are ignored).
import { HEALTH_WARNINGS } from './run';
import { ENGINE_NAMES } from './config';
import { EVAL_PREFIX, METRICS_SPLITS, RUN_STATUSES } from './run-folder';

const step = { type: 'integer', minimum: 0 };
const HEAD = ['kind', 'split', 'step', 'epoch'];
const evalName = { pattern: `^${EVAL_PREFIX}` };

export const RUN_RECORDS_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://dpo-studio.dev/schemas/run-records.schema.json',
  title: 'DPO Studio run-folder records',
  description:
    'A line of <run>/metrics.jsonl is one of definitions.metrics | warning | status (the top level). ' +
    'A line of <run>/pairs.jsonl is definitions.pair. Generated from src/protocol/run-folder.ts: do not edit.',
  oneOf: [{ $ref: '#/definitions/metrics' }, { $ref: '#/definitions/warning' }, { $ref: '#/definitions/status' }],
  definitions: {
    metrics: {
      description: `Train or eval metrics at a logged step: TRL's names; every eval name (and only those) starts with "${EVAL_PREFIX}".`,
      type: 'object',
      required: ['kind', 'split', 'step', 'epoch'],
      properties: { kind: { const: 'metrics' }, split: { enum: [...METRICS_SPLITS] }, step, epoch: { type: 'number', minimum: 0 } },
      additionalProperties: { type: 'number' },
      if: { properties: { split: { const: 'eval' } } },
      then: { propertyNames: { anyOf: [{ enum: HEAD }, evalName] } },
      else: { propertyNames: { not: evalName } },
    },
    warning: {
      description: 'A training-health warning, at the step where it became clear.',
      type: 'object',
      required: ['kind', 'step', 'code', 'message'],
      properties: { kind: { const: 'warning' }, step, code: { enum: [...HEALTH_WARNINGS] }, message: { type: 'string' } },
      additionalProperties: false,
    },
    status: {
      description: 'Written when a run starts (running) and when it ends (completed, stopped or failed).',
      type: 'object',
      required: ['kind', 'status', 'step', 'total_steps', 'time', 'engine', 'device'],
      properties: {
        kind: { const: 'status' },
        status: { enum: [...RUN_STATUSES] },
        step,
        total_steps: step,
        time: { type: 'string', format: 'date-time', description: 'ISO 8601' },
        engine: { enum: [...ENGINE_NAMES] },
        device: { type: 'string', description: 'e.g. "wasm" or "cuda:0 NVIDIA H100"' },
        message: { type: 'string' },
      },
      additionalProperties: false,
    },
    pair: {
      description: "A pair's values at a logged step; line is the 1-based line of the data file (eval_data for eval pairs when given).",
      type: 'object',
      required: ['step', 'split', 'line', 'chosen_reward', 'rejected_reward', 'margin', 'loss'],
      properties: {
        step,
        split: { enum: [...METRICS_SPLITS] },
        line: { type: 'integer', minimum: 1 },
        chosen_reward: { type: 'number' },
        rejected_reward: { type: 'number' },
        margin: { type: 'number' },
        loss: { type: 'number' },
        label: {
          type: 'boolean',
          description:
            'Mode "kto" only: the line is one unpaired example, desirable (true) or not. Its implicit reward is chosen_reward (desirable) or rejected_reward (undesirable); the other holds β·KL, the reference point of its batch; margin is their difference, positive when KTO is satisfied.',
        },
      },
      additionalProperties: false,
    },
  },
};
