// The PyTorch engine through the palette in a real VS Code: New Training Run asks for the engine
// and, on torch, LoRA and precision (screenshots of each picker in light and dark themes); the run
// it starts shows "torch · cpu" in the metrics panel's summary row and the status bar tooltip.
// Screenshots with DPO_SCREENSHOTS.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, pickRow, runCommand, setTheme, startWorkbench } from './helpers';

const SHOTS = process.env.DPO_SCREENSHOTS;

describe('PyTorch engine from the palette in a real VS Code', { timeout: 400_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  let sharedDisk: string | undefined;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-torch-'));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '128');
    // 24 pairs: a few optimizer steps, so the run ends quickly even on a busy machine.
    const pairs = fs
      .readFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 24);
    fs.writeFileSync(path.join(workspace, 'pairs.jsonl'), pairs.join('\n') + '\n');
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    fs.rmSync(workspace, { recursive: true, force: true });
    if (sharedDisk) fs.rmSync(sharedDisk, { recursive: true, force: true });
  });

  const theme = (name: string, dark: boolean) => setTheme(page, name, dark);

  const shot = async (name: string) => SHOTS && page.screenshot({ path: path.join(SHOTS, name) });
  const title = (text: string) => page.locator('.quick-input-widget .quick-input-title', { hasText: text }).waitFor({ state: 'visible', timeout: 30_000 });

  it('New Training Run asks engine, LoRA and precision; the torch run shows its engine in the metrics panel', async () => {
    // Light theme: the engine and LoRA pickers, then cancel.
    await theme('Light Modern', false);
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/tiny', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await title('— engine');
    const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    assert.ok(
      rows.some((r) => /PyTorch engine/.test(r) && /torch · CPU only/.test(r)),
      rows.join(' | '),
    );
    assert.ok(
      rows.some((r) => /Embedded engine/.test(r)),
      rows.join(' | '),
    );
    await shot('new-run-engine-light.png');
    await pickRow(page, 'PyTorch engine');
    await title('— LoRA');
    // A tiny model: full fine-tuning is the first (recommended) choice; LoRA would be above ~1B.
    const lora = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    assert.match(lora[0], /Full fine-tuning/);
    assert.match(lora[0], /recommended for \d+(\.\d)?[KM] parameters/);
    await shot('new-run-lora-light.png');
    await page.keyboard.press('Escape');

    // Dark theme: the whole flow, then the run in the metrics panel.
    await theme('Dark Modern', true);
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/tiny', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await title('— engine');
    await shot('new-run-engine-dark.png');
    await pickRow(page, 'PyTorch engine');
    await title('— LoRA');
    await shot('new-run-lora-dark.png');
    await pickRow(page, 'Full fine-tuning');
    await title('— precision');
    const dtypes = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    assert.match(dtypes[0], /fp32/, 'no GPU: fp32 first');
    await shot('new-run-precision-dark.png');
    await pickRow(page, 'fp32');
    const input = page.locator('.quick-input-widget input.input');
    for (const [value, t] of [
      ['0.1', 'β'],
      ['0.001', 'learning rate'],
      ['1', 'epochs'],
    ]) {
      await title(t);
      await input.fill(value);
      await page.keyboard.press('Enter');
    }
    // The summary before starting: Start, or Edit one answer.
    await pickRow(page, 'Start training', '— summary');
    // The status bar shows "DPO n/m" while the run goes; six steps of the tiny model can end within
    // 2 s (torch already imported), before the item is seen, so a completed status record also counts.
    const item = page.locator('.statusbar-item', { hasText: /DPO \d+\/\d+/ }).first();
    const runsDir = path.join(workspace, '.dpo', 'runs');
    const completed = () =>
      fs.existsSync(runsDir) &&
      fs.readdirSync(runsDir).some((d) => {
        const f = path.join(runsDir, d, 'metrics.jsonl');
        return fs.existsSync(f) && /"status":\s*"completed"/.test(fs.readFileSync(f, 'utf8'));
      });
    const deadline = Date.now() + 120_000;
    while (!(await item.isVisible()) && !completed()) {
      if (Date.now() > deadline) throw new Error('the torch run neither showed progress in the status bar nor completed within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await runCommand(page, 'DPO: Open Metrics');
    const view = activeWebview(page);
    const summary = view.locator('.run-summary').first();
    await summary.waitFor({ timeout: 60_000 });
    await view.locator('.run-summary', { hasText: 'completed' }).waitFor({ timeout: 180_000 });
    assert.match(await summary.innerText(), /torch · cpu/);
    await view.locator('.chart[data-chart="loss"] canvas').waitFor();
    await shot('torch-metrics-dark.png');
    await theme('Light Modern', false);
    await view.locator('.run-summary', { hasText: 'torch · cpu' }).waitFor({ timeout: 30_000 });
    await shot('torch-metrics-light.png');
    // A run folder from elsewhere (as a cluster job writes it on a shared disk, here on an H100):
    // "Open Run Folder…" adds it, and its status records say the engine and device.
    const runDir = path.join(workspace, '.dpo', 'runs', fs.readdirSync(path.join(workspace, '.dpo', 'runs'))[0]);
    sharedDisk = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-shared-disk-'));
    const cluster = path.join(sharedDisk, 'cluster-run');
    fs.mkdirSync(cluster);
    fs.copyFileSync(path.join(runDir, 'config.json'), path.join(cluster, 'config.json'));
    const lines = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    fs.writeFileSync(
      path.join(cluster, 'metrics.jsonl'),
      lines.map((r) => JSON.stringify(r.kind === 'status' ? { ...r, device: 'cuda:0 NVIDIA H100 80GB HBM3' } : r)).join('\n') + '\n',
    );
    await view.locator('#add-run').click();
    await title('Open Run Folder');
    const dialog = page.locator('.quick-input-widget input.input');
    // The dialog fills in its starting folder after it opens: type the path only once it has.
    // (it can also rewrite the value once more while settling, so check that the path stuck).
    for (let i = 0; i < 100 && !(await dialog.inputValue()); i++) await page.waitForTimeout(100);
    for (let i = 0; i < 20; i++) {
      await dialog.fill(cluster);
      await page.waitForTimeout(300);
      if ((await dialog.inputValue()) === cluster) break;
    }
    const added = view.locator('.run-summary', { hasText: 'torch · cuda:0 NVIDIA H100 80GB HBM3' });
    for (let i = 0; i < 3 && !(await added.isVisible()); i++) {
      await page.keyboard.press('Enter');
      await added.waitFor({ timeout: 5_000 }).catch(() => undefined);
    }
    await added.waitFor({ timeout: 10_000 }).catch(async (err) => {
      await shot('torch-open-run-folder-failure.png');
      throw err;
    });
    await shot('torch-metrics-cluster-run-light.png');

    const configs = fs.readdirSync(path.join(workspace, '.dpo', 'configs'));
    const written = JSON.parse(fs.readFileSync(path.join(workspace, '.dpo', 'configs', configs[0]), 'utf8'));
    assert.deepEqual([written.engine, written.lora_r, written.dtype, written.num_processes], ['torch', 0, 'fp32', 1]);
  });
});
