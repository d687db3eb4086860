// Runs the Mocha suites in test/electron/suite inside a real VS Code with @vscode/test-electron's
// runTests. With DPO_VSCODE=electron it downloads and uses Electron VS Code as usual; otherwise
// (the default on these offline machines) it points vscodeExecutablePath at a launcher that runs
// the same suites in a real VS Code server (code-server) driven through headless Chromium, against
// the extension as users get it: packed into a VSIX and installed with `code-server
// --install-extension`; the installed folder is the one loaded (Electron mode loads the checkout).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { installVsix, packageVsix } from './vsix';

const ROOT = path.resolve(__dirname, '../../..');

const CODE_SERVER = process.env.DPO_CODE_SERVER ?? path.join(ROOT, '.cache', 'code-server', 'node_modules', '.bin', 'code-server');

/** What the offline launcher needs, with what to do when it is missing. */
function checkPrerequisites(): string | undefined {
  const codeServer = CODE_SERVER;
  const chromium = process.env.DPO_CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(codeServer))
    return `${codeServer} is missing: run \`bash scripts/install-code-server.sh\` (or \`bash .ci/run\`, which installs everything)`;
  if (!fs.existsSync(chromium)) return `${chromium} is missing: \`apt-get install chromium\` (or set DPO_CHROMIUM to a Chromium binary)`;
  return undefined;
}

async function main(): Promise<void> {
  const useElectron = process.env.DPO_VSCODE === 'electron';
  const missing = useElectron ? undefined : checkPrerequisites();
  if (missing) {
    process.stderr.write(`extension tests: ${missing}\n`);
    process.exitCode = 1;
    return;
  }
  const launcher = path.join(ROOT, 'test', 'electron', 'launcher', 'code-server-launcher.js');
  const extensionTestsPath = path.join(__dirname, 'suite', 'index');
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-electron-results-'));
  const vsix = useElectron ? undefined : packageVsix(resultsDir);
  if (vsix) console.log(`extension tests: packed ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1e6).toFixed(2)} MB)`);
  // The PyTorch engine's environment is looked for in the extension's folder; the installed copy has
  // none, so the tests use the checkout's (made by scripts/setup-torch-env.js).
  const torchEnv = process.env.DPO_TORCH_ENV ?? path.join(ROOT, '.cache', 'torch-env');
  let passed = 0;
  let failed = 0;
  // Two windows: a trusted workspace for the features, an untrusted one for Restricted Mode.
  for (const variant of ['trusted', 'untrusted'] as const) {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), `dpo-ws-${variant}-`));
    const results = path.join(resultsDir, `${variant}.json`);
    // A fresh profile and extensions folder per window, outside the work tree: a clean clone has no
    // .vscode-test/ (the default), and VS Code wants an extensions.json in the extensions folder.
    const profile = path.join(resultsDir, `${variant}-profile`);
    fs.mkdirSync(path.join(profile, 'extensions'), { recursive: true });
    fs.writeFileSync(path.join(profile, 'extensions', 'extensions.json'), '[]');
    const extensionDevelopmentPath = vsix ? installVsix(CODE_SERVER, vsix, path.join(profile, 'extensions'), profile) : ROOT;
    const started = Date.now();
    try {
      await runTests({
        ...(useElectron ? {} : { vscodeExecutablePath: launcher }),
        extensionDevelopmentPath,
        extensionTestsPath,
        launchArgs: [
          workspace,
          '--disable-extensions',
          `--user-data-dir=${path.join(profile, 'user-data')}`,
          `--extensions-dir=${path.join(profile, 'extensions')}`,
          ...(variant === 'trusted' ? ['--disable-workspace-trust'] : []),
        ],
        extensionTestsEnv: {
          DPO_TEST_RESULTS: results,
          DPO_TORCH_ENV: torchEnv,
          ...(vsix ? { DPO_TEST_FROM_VSIX: '1' } : {}),
          ...(variant === 'untrusted' ? { DPO_TEST_UNTRUSTED: '1' } : {}),
        },
      });
    } catch (err) {
      process.stderr.write(`extension tests (${variant} workspace) failed: ${(err as Error).message}\n`);
    }
    const r = fs.existsSync(results) ? (JSON.parse(fs.readFileSync(results, 'utf8')) as { passes: number; failures: number }) : { passes: 0, failures: 1 };
    passed += r.passes;
    failed += r.failures;
    console.log(`extension tests (${variant} workspace): ${r.passes} passing, ${r.failures} failing, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  fs.rmSync(resultsDir, { recursive: true, force: true });
  console.log(`extension tests: ${passed} passed, ${failed} failed`);
  if (failed > 0 || passed === 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
