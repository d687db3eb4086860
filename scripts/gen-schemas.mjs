// Writes the JSON Schemas in schemas/ from their TypeScript source (run after `tsc -p .`):
// the run config (CONFIG_SCHEMA, src/protocol/config.ts) and the run-folder records
// (RUN_RECORDS_SCHEMA, src/protocol/run-records-schema.ts). Unit tests (docs.test.ts, and
// protocol/run-records.test.ts) fail when a checked-in file differs from what this writes.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { CONFIG_SCHEMA, RUN_RECORDS_SCHEMA } = require('../out/src/protocol/index.js');
for (const [file, schema] of [
  ['schemas/dpo-config.schema.json', CONFIG_SCHEMA],
  ['schemas/run-records.schema.json', RUN_RECORDS_SCHEMA],
]) {
  writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
