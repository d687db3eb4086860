#!/usr/bin/env node
// The `dpo` command: a thin shim over the CLI. In a checkout it runs the compiled tree (out/, built
// by `npm run build` or `prepare`); in the installed VSIX, which ships no out/src, the bundle in dist/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'out', 'src', 'cli', 'main.js');
require(fs.existsSync(compiled) ? compiled : path.join(__dirname, '..', 'dist', 'cli.js'))
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
