// Writes the JSON Schemas in schemas/ from their TypeScript source (run after `tsc -p .`):
// the run config (CONFIG_SCHEMA, src/protocol/config.ts; VS Code's jsonValidation and the Python
// engine's config check), the engine protocol (PROTOCOL_SCHEMA, src/protocol/protocol-schema.ts; the
// Python engine's message check) and the run-folder records (RUN_RECORDS_SCHEMA,
// src/protocol/run-records-schema.ts). Unit tests fail when a checked-in file differs from this.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { CONFIG_SCHEMA, PROTOCOL_SCHEMA, RUN_RECORDS_SCHEMA } = require('../out/src/protocol/index.js');
for (const [file, schema] of [
  ['schemas/dpo-config.schema.json', CONFIG_SCHEMA],
  ['schemas/protocol.schema.json', PROTOCOL_SCHEMA],
  ['schemas/run-records.schema.json', RUN_RECORDS_SCHEMA],
]) {
  writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
