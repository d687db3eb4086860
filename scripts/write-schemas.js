// Writes the checked-in JSON Schemas from the compiled protocol (run `npx tsc -p .` first):
// schemas/dpo-config.schema.json (VS Code's jsonValidation, the Python engine's config check) and
// schemas/protocol.schema.json (the Python engine's message check). `npm run schemas` does both steps.
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const { CONFIG_SCHEMA } = require(path.join(root, 'out/src/protocol/config.js'));
const { PROTOCOL_SCHEMA } = require(path.join(root, 'out/src/protocol/protocol-schema.js'));
for (const [name, schema] of [['dpo-config.schema.json', CONFIG_SCHEMA], ['protocol.schema.json', PROTOCOL_SCHEMA]]) {
  fs.writeFileSync(path.join(root, 'schemas', name), JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote schemas/${name}`);
}
