#!/usr/bin/env node
// The `dpo` command: a thin shim over the compiled CLI (built by `npm run build`, run by `prepare`).
'use strict';
require('../out/src/cli/main.js')
  .main(process.argv)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`dpo: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    },
  );
