#!/usr/bin/env node
// A stand-in for the VS Code executable that @vscode/test-electron's runTests spawns, for machines
// where no Electron build can be downloaded: it runs the same Mocha suites in the real extension
// host of a VS Code server (see workbench.js), relays the host's console, and exits with the code
// the test run ends with.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startWorkbench, parseArgs, TIMEOUT_MS } = require('./workbench');

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dev = args.extensionDevelopmentPath;
  const tests = args.extensionTestsPath;
  if (!dev || !tests) throw new Error('expected --extensionDevelopmentPath=… and --extensionTestsPath=…');
  const folder = args.positional[0] || fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-ws-'));
  const wb = await startWorkbench({
    folder,
    dev,
    tests,
    userData: args['user-data-dir'],
    extensions: args['extensions-dir'],
    trust: !process.env.DPO_TEST_UNTRUSTED,
  });
  const code = await Promise.race([wb.exited, new Promise((r) => setTimeout(() => r('timeout'), TIMEOUT_MS))]);
  if (code === 'timeout') process.stderr.write(`launcher: the test run did not finish within ${TIMEOUT_MS / 1000} s\n${wb.serverLog.join('').slice(-4000)}\n`);
  await wb.close();
  process.exit(code === 'timeout' ? 1 : code);
}

main().catch((err) => {
  process.stderr.write(`launcher: ${err.stack || err}\n`);
  process.exit(1);
});
