// npm run bench:labeling: the labeling editor on large files in a real VS Code (code-server in
// headless Chromium). For files of 10k, 45k and 100k pairs (~1 kB a line) it measures the time from
// "DPO: Label Pairs" to the first pair on screen, the time until every line is indexed (counts and
// Problems complete), and how long key presses take to be answered in the webview.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { activeWebview, ROOT, runCommand, startWorkbench } from '../test/e2e/helpers';

const SIZES = (process.env.DPO_BENCH_PAIRS ?? '10000,45000,100000').split(',').map(Number);

function writeFile(file: string, pairs: number): number {
  const fd = fs.openSync(file, 'w');
  const words = 'the of and to in is that for it as with was on be by this are or from at which but not have'.split(' ');
  let seed = 1;
  const text = (n: number) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      out += words[seed % words.length] + ' ';
    }
    return out.trim();
  };
  for (let i = 0; i < pairs; i++) fs.writeSync(fd, JSON.stringify({ id: i, prompt: text(52), responses: [text(105), text(105)] }) + '\n');
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

async function main(): Promise<void> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-bench-label-'));
  fs.mkdirSync(path.join(folder, '.vscode'));
  // DPO_BENCH_THRESHOLD_MB: the editor that reads from disk takes files above it (default: the setting's default).
  const thresholdEnv = process.env.DPO_BENCH_THRESHOLD_MB;
  const threshold = (thresholdEnv ? Number(thresholdEnv) : 5) * 1.048576;
  fs.writeFileSync(
    path.join(folder, '.vscode', 'settings.json'),
    JSON.stringify({ 'files.autoSave': 'off', ...(thresholdEnv ? { 'dpo.labeling.largeFileThresholdMB': Number(thresholdEnv) } : {}) }),
  );
  const files = SIZES.map((n) => {
    const file = path.join(folder, `pairs-${n}.jsonl`);
    return { n, name: path.basename(file), bytes: writeFile(file, n) };
  });
  const wb = await startWorkbench({ folder, dev: ROOT, onLog: () => {} });
  const { page } = wb;
  const rows: string[] = [];
  try {
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    for (const f of files) {
      // As a person would: right-click the file in the Explorer, "Label Pairs" (the file is not opened as text first).
      const item = page.locator('.context-view .action-item', { hasText: 'Label Pairs' }).first();
      for (let attempt = 0; ; attempt++) {
        // Right after start-up the extension's menu items may not be registered yet.
        await page.locator('.explorer-folders-view .monaco-list-row', { hasText: f.name }).first().click({ button: 'right' });
        if (
          await item.waitFor({ timeout: 5_000 }).then(
            () => true,
            () => false,
          )
        )
          break;
        await page.keyboard.press('Escape');
        if (attempt === 10) throw new Error('"Label Pairs" never appeared in the Explorer menu');
      }
      const t0 = Date.now();
      await item.hover();
      await page.keyboard.press('Enter');
      const view = activeWebview(page);
      const refused = page.locator('.notifications-toasts .notification-toast', { hasText: 'DPO' }).first();
      const shown = await Promise.race([
        view
          .locator('#kind')
          .waitFor({ timeout: 180_000 })
          .then(() => 'shown'),
        refused.waitFor({ timeout: 180_000 }).then(() => 'refused'),
      ]);
      if (shown !== 'shown') {
        rows.push(`| ${f.n.toLocaleString()} | ${(f.bytes / 1e6).toFixed(0)} MB | refused: ${(await refused.innerText()).replace(/\n/g, ' ')} | | | |`);
        continue;
      }
      const firstPairSeen = Date.now() - t0;
      await view.locator('#counts').filter({ hasNotText: 'indexing' }).filter({ hasText: 'left' }).waitFor({ timeout: 300_000 });
      const body = view.locator('body[data-indexed-ms]');
      await body.waitFor({ state: 'attached', timeout: 300_000 });
      const firstPair = Number(await body.getAttribute('data-first-pair-ms'));
      const indexed = Number(await body.getAttribute('data-indexed-ms'));
      const sessionMs = Number(await body.getAttribute('data-session-ms'));
      const readyMs = Number(await body.getAttribute('data-ready-ms'));
      await view.locator('#pair').focus();
      const keyMs: number[] = [];
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press(i % 3 === 2 ? 'j' : '1');
        keyMs.push(Number(await view.locator('body').getAttribute('data-last-key-ms')));
      }
      keyMs.sort((a, b) => a - b);
      rows.push(
        `| ${f.n.toLocaleString()} | ${(f.bytes / 1e6).toFixed(0)} MB | ${f.bytes > threshold * 1e6 ? 'reads from disk' : 'TextDocument'} | ${sessionMs} / ${readyMs} / ${firstPair} ms | ${firstPairSeen} ms | ${(indexed / 1000).toFixed(1)} s | ${keyMs[15].toFixed(1)} / ${keyMs[29].toFixed(1)} ms |`,
      );
      console.error(rows[rows.length - 1]);
      // Leave the file as it was: close without saving.
      await runCommand(page, 'View: Close All Editors');
      const dontSave = page.locator('.monaco-dialog-box .monaco-button', { hasText: "Don't Save" });
      if (await dontSave.isVisible({ timeout: 3000 }).catch(() => false)) await dontSave.click();
    }
  } catch (err) {
    await page.screenshot({ path: path.join(os.tmpdir(), 'dpo-bench-labeling-failure.png') }).catch(() => {});
    throw err;
  } finally {
    await wb.close();
    fs.rmSync(folder, { recursive: true, force: true });
  }
  console.log(
    `${os.cpus()[0].model}, ${os.cpus().length} cores; code-server 4.100.3 (VS Code 1.100.3), headless Chromium; ${new Date().toISOString().slice(0, 10)}\n`,
  );
  console.log(
    '| pairs | file | editor | after the command: editor created / webview loaded / first pair sent | first pair seen by the test | all lines indexed | key press answered in the webview, median / slowest of 30 |',
  );
  console.log('|---|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
