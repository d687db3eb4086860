// The JSON Schema of the engine protocol, generated from the guard tables in messages.ts (each check
// carries its schema fragment), so the Python engine validates requests with exactly the rules the
// TypeScript side uses. schemas/protocol.schema.json is this object; a unit test fails on drift.
import { Check, EVENT_PARAMS, MAX_LINE_BYTES, PROTOCOL_VERSION, REQUEST_PARAMS } from './messages';

function paramsSchema(fields: Record<string, Check>): Record<string, unknown> {
  const properties = Object.fromEntries(Object.entries(fields).map(([k, c]) => [k, c.schema]));
  const required = Object.entries(fields)
    .filter(([, c]) => !c.optional)
    .map(([k]) => k);
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

const table = (t: Record<string, Record<string, Check>>) => Object.fromEntries(Object.entries(t).map(([type, f]) => [type, paramsSchema(f)]));

export const PROTOCOL_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://dpo-studio.dev/schemas/protocol.schema.json',
  title: 'DPO Studio engine protocol (JSON lines on stdio)',
  protocolVersion: PROTOCOL_VERSION,
  maxLineBytes: MAX_LINE_BYTES,
  definitions: {
    request: {
      type: 'object',
      required: ['kind', 'id', 'type'],
      properties: { kind: { const: 'request' }, id: { type: 'integer' }, type: { enum: Object.keys(REQUEST_PARAMS) }, params: { type: 'object' } },
    },
    reply: {
      type: 'object',
      required: ['kind', 'id', 'ok'],
      properties: { kind: { const: 'reply' }, id: { type: 'integer' }, ok: { type: 'boolean' }, result: {}, error: { type: 'string' } },
      if: { properties: { ok: { const: false } } },
      then: { required: ['error'] },
    },
    event: {
      type: 'object',
      required: ['kind', 'type', 'params'],
      properties: { kind: { const: 'event' }, type: { enum: Object.keys(EVENT_PARAMS) }, params: { type: 'object' } },
    },
  },
  /** The params of each request type (a request without params has {}). */
  requests: table(REQUEST_PARAMS),
  /** The params of each event type. */
  events: table(EVENT_PARAMS),
};
