// Starts a real VS Code server (code-server 4.100.3, VS Code 1.100.3) and opens its workbench in
// headless Chromium through playwright-core, with an extension under development (and optionally
// a test runner) in the URL. Used by the runTests launcher and by the Playwright webview tests.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');

const ROOT = path.resolve(__dirname, '../../..');
const CODE_SERVER = process.env.DPO_CODE_SERVER || path.join(ROOT, '.cache/code-server/node_modules/.bin/code-server');
const CHROMIUM = process.env.DPO_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = Number(process.env.DPO_TEST_TIMEOUT_MS || 15 * 60 * 1000);

const WORKBENCH_CHATTER =
  /^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin extensions cache|\[Service Worker\] registered|ChatSessionStore: Migrating)/;

function parseArgs(argv) {
  const out = { positional: [] };
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (m) out[m[1]] = m[2];
    else if (!a.startsWith('--')) out.positional.push(a);
  }
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * Opens `folder` in a fresh code-server with the extension at `dev` loaded. Returns the page, a
 * promise of the exit code the test runner reports (when `tests` is given), and close().
 */
/**
 * `browserProfile` keeps the browser's storage (VS Code in a browser keeps its hot-exit backups in
 * IndexedDB) and `port` the origin it belongs to, so that a second start can find what a first left.
 */
async function startWorkbench({ folder, dev, tests, userData, extensions, trust = true, onLog, port: fixedPort, browserProfile }) {
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`${CODE_SERVER} not found: run scripts/install-code-server.sh`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-code-server-'));
  const port = fixedPort || (await freePort());
  const serverTmp = path.join(tmp, 'tmp');
  fs.mkdirSync(serverTmp);
  fs.writeFileSync(path.join(tmp, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const server = spawn(
    CODE_SERVER,
    [
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--config',
      path.join(tmp, 'config.yaml'),
      '--user-data-dir',
      userData || path.join(tmp, 'user-data'),
      '--extensions-dir',
      extensions || path.join(tmp, 'extensions'),
      '--disable-telemetry',
      '--disable-update-check',
      ...(trust ? ['--disable-workspace-trust'] : []),
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ],
    // TMPDIR inside our temp folder: the server's sockets (vscode-ipc-*.sock, vscode-git-*.sock) and
    // what the extension host's children write to os.tmpdir() go when the folder is removed.
    {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), XDG_DATA_HOME: path.join(tmp, 'xdg-data'), TMPDIR: serverTmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const serverLog = [];
  server.stdout.on('data', (d) => serverLog.push(String(d)));
  server.stderr.on('data', (d) => serverLog.push(String(d)));
  let browser;
  const close = async () => {
    if (browser) await browser.close().catch(() => {});
    server.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    const deadline = Date.now() + 120_000; // under a few seconds when idle; generous for a loaded machine
    while (!(await healthy(port))) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`code-server did not start:\n${serverLog.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const { chromium } = require('playwright-core');
    const launchOptions = {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    };
    let page;
    if (browserProfile) {
      browser = await chromium.launchPersistentContext(browserProfile, { ...launchOptions, viewport: { width: 1400, height: 900 } });
      page = browser.pages()[0] || (await browser.newPage());
    } else {
      browser = await chromium.launch(launchOptions);
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    }
    let exit;
    const exited = new Promise((resolve) => (exit = resolve));
    await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
      // The extension host forwards console calls with their printf-style arguments.
      let text = Array.isArray(logArgs) ? util.format(...logArgs) : String(logArgs);
      // The workbench refuses modal dialogs under test (the untrusted window's trust prompt) and
      // logs each refusal with a stack trace: expected, so one line without the trace.
      if (text.startsWith('DialogService: refused to show dialog in tests')) text = text.split('\n')[0].replace(/: Error: DialogService.*$/, '');
      // The workbench's own start-up chatter, the same in every window: not printed.
      if (!onLog && WORKBENCH_CHATTER.test(text)) return;
      (onLog || ((t, x) => (t === 'error' ? process.stderr : process.stdout).write(x.endsWith('\n') ? x : x + '\n')))(type, text);
    });
    await page.exposeFunction('codeAutomationExit', (code) => exit(Number(code) || 0));
    const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [['extensionDevelopmentPath', remote(dev)], ...(tests ? [['extensionTestsPath', remote(tests)]] : [])];
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    /** Ends the server with SIGKILL (no shutdown, no flush) and closes the browser; keeps userData. */
    const kill = async () => {
      // code-server runs the server in a child of the process we started: kill the whole tree,
      // then wait until nothing answers on the port.
      const tree = [server.pid];
      for (let i = 0; i < tree.length; i++) {
        const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(tree[i])], { encoding: 'utf8' });
        tree.push(
          ...r.stdout
            .split('\n')
            .map(Number)
            .filter((p) => p > 0),
        );
      }
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      while (await healthy(port)) await new Promise((r) => setTimeout(r, 100));
      if (browser) await browser.close().catch(() => {});
      fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    };
    return { page, exited, close, kill, serverLog, port };
  } catch (err) {
    await close();
    throw err;
  }
}

module.exports = { startWorkbench, parseArgs, TIMEOUT_MS };
