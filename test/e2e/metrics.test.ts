// Clicks in the metrics panel inside a real VS Code: a run started from the palette updates the
// step counter and the loss chart live; hovering reads a point out; clicking a point shows that
// step's pairs over the chart; Export CSV writes the rows of metrics.jsonl; the panel comes back, with the
// finished run, after a window reload. Screenshots in dark and light themes with DPO_SCREENSHOTS.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, pickRow, runCommand, startWorkbench } from './helpers';
import { activeWebviewFrame } from './panels';

const SHOTS = process.env.DPO_SCREENSHOTS;

describe('metrics panel in a real VS Code', { timeout: 600_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-metrics-'));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '128');
    fs.copyFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), path.join(workspace, 'pairs.jsonl'));
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  /** Switches the colour theme through the palette's theme picker, as a person would. */
  async function theme(name: string, dark: boolean): Promise<void> {
    // The theme picker replaces the palette and lists every theme: wait for the row itself (keys
    // typed before the picker is up would be lost on a loaded machine), and open the picker again
    // if it never came up (a click on the palette row that the busy workbench dropped).
    for (let attempt = 0; ; attempt++) {
      await runCommand(page, 'Preferences: Color Theme');
      try {
        await pickRow(page, name);
        break;
      } catch (err) {
        if (attempt === 3) throw err;
        await page.keyboard.press('Escape');
      }
    }
    await page.locator(dark ? '.monaco-workbench.vs-dark' : '.monaco-workbench.vs').waitFor({ timeout: 30_000 });
  }

  it('follows a run live, reads out, drills down, exports CSV, and survives a window reload', async () => {
    await theme('Dark Modern', true);
    // Start a run from the palette: model, data, then β, learning rate and epochs (one: ~30 steps,
    // enough to watch it move, short enough for a loaded machine).
    // Start a run from the palette: model, data, the embedded engine (asked when the PyTorch engine
    // is set up too), then β, learning rate and epochs.
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/tiny', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await pickRow(page, 'Embedded engine', '— engine');
    const input = page.locator('.quick-input-widget input.input');
    const quickTitle = (text: string) =>
      page.locator('.quick-input-widget .quick-input-title', { hasText: text }).waitFor({ state: 'visible', timeout: 30_000 });
    await quickTitle('β');
    await input.fill('0.1');
    await page.keyboard.press('Enter');
    // The learning rate offered fits the tiny model, and the prompt says why.
    await quickTitle('learning rate');
    assert.equal(await input.inputValue(), '5e-4');
    assert.match(await page.locator('.quick-input-widget .quick-input-message').innerText(), /Suggested 5e-4 \(\d+K parameters: a tiny model/);
    // A bad value is answered with what is allowed, and not accepted.
    await input.fill('fast');
    await page.locator('.quick-input-widget .quick-input-message', { hasText: 'Enter a number greater than 0, e.g. 5e-4' }).waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    await quickTitle('learning rate');
    await input.fill('0.001');
    await page.keyboard.press('Enter');
    // Back from epochs returns to the learning rate with the answer kept.
    await quickTitle('epochs');
    await page.locator('.quick-input-widget .codicon-quick-input-back').click();
    await quickTitle('learning rate');
    assert.equal(await input.inputValue(), '0.001');
    await page.keyboard.press('Enter');
    await quickTitle('epochs');
    await input.fill('1');
    await page.keyboard.press('Enter');
    // The summary before starting lists the answers: Start, or pick one to edit it.
    await quickTitle('— summary');
    const summary = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    for (const row of [
      /Start training/,
      /Model: models\/tiny/,
      /Data: pairs\.jsonl/,
      /β: 0\.1/,
      /Learning rate: 0\.001/,
      /Epochs: 1.*about \d+ steps of 4 pairs/s,
    ])
      assert.ok(
        summary.some((r) => row.test(r)),
        `${row} in ${summary.join(' | ')}`,
      );
    await pickRow(page, 'Start training', '— summary');
    // The status bar shows the run once the engine is training; then Open Metrics opens its panel.
    await page
      .locator('.statusbar-item', { hasText: /DPO \d+\/\d+/ })
      .first()
      .waitFor({ timeout: 60_000 });
    await runCommand(page, 'DPO: Open Metrics');
    const view = activeWebview(page);
    const state = view.locator('.run-summary .state').first();
    await state.waitFor({ timeout: 60_000 });
    const stepNow = async () => Number(/step (\d+)/.exec(await state.innerText())?.[1]);
    const first = await stepNow();
    for (let i = 0; i < 600 && (await stepNow()) === first; i++) await page.waitForTimeout(100);
    assert.notEqual(await stepNow(), first, 'the step counter moves while the run trains');
    const lossChart = view.locator('.chart[data-chart="loss"]');
    await lossChart.locator('canvas').waitFor();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-dark-live.png') });

    // Wait for the run to finish (the summary says so), so the files are complete.
    // No fixed bound on the run's speed: the test's own timeout is the limit; say where it stood.
    await view
      .locator('.run-summary', { hasText: 'completed' })
      .waitFor({ timeout: 400_000 })
      .catch(async (err) => {
        throw new Error(`the run did not complete; the panel says: ${await view.locator('.run-summary').first().innerText()}`, { cause: err });
      });
    const runDir = fs.readdirSync(path.join(workspace, '.dpo', 'runs')).map((d) => path.join(workspace, '.dpo', 'runs', d))[0];
    // The metrics records (metrics.jsonl holds status and warning records too).
    const metricsLines = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.kind === 'metrics');

    // Each plot is as wide as its card at any panel width, so the last logged step is inside the
    // visible plot area: the plot's right edge is inside the card, and a hover there reads it out.
    const lastStep = metricsLines.filter((r) => r.split !== 'eval' && 'loss' in r).pop()!.step;
    for (const width of [1600, 700]) {
      await page.setViewportSize({ width, height: 1000 });
      const card = lossChart;
      const plot = lossChart.locator('.u-over');
      // The ResizeObserver sets the new size on the next frame: wait until the plot fits its card.
      let cardBox = (await card.boundingBox())!;
      let plotBox = (await plot.boundingBox())!;
      for (let i = 0; i < 50 && plotBox.x + plotBox.width > cardBox.x + cardBox.width; i++) {
        await page.waitForTimeout(100);
        cardBox = (await card.boundingBox())!;
        plotBox = (await plot.boundingBox())!;
      }
      assert.ok(
        plotBox.x + plotBox.width <= cardBox.x + cardBox.width,
        `at ${width} px the plot (right edge ${plotBox.x + plotBox.width}) fits its card (${cardBox.x + cardBox.width})`,
      );
      assert.ok(plotBox.width > cardBox.width * 0.5, `at ${width} px the plot fills its card (${plotBox.width} of ${cardBox.width} px)`);
      await plot.hover({ position: { x: plotBox.width - 1, y: plotBox.height / 2 } });
      const edge = await lossChart.locator('.tooltip .tt-head').innerText();
      assert.equal(Number(/(\d+)\s*$/.exec(edge)?.[1]), lastStep, `at ${width} px the plot's right edge reads the last step: ${edge}`);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `metrics-dark-${width}.png`) });
    }
    // Back to the launcher's size for the rest of the test.
    await page.setViewportSize({ width: 1400, height: 900 });

    // Hover: the tooltip reads out the point under the cursor.
    const over = lossChart.locator('.u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width * 0.6, y: box.height / 2 } });
    const readout = await lossChart.locator('.tooltip').innerText();
    assert.match(readout, /step \d+/, `the read-out shows a step: ${readout}`);
    // Click: that step's pairs over the chart, worst margin first.
    await over.click({ position: { x: box.width * 0.6, y: box.height / 2 } });
    const pairRows = lossChart.locator('.drill .pair');
    await pairRows.first().waitFor({ timeout: 30_000 });
    const title = await lossChart.locator('.drill-title').innerText();
    const m = / · step (\d+) \(train\)/.exec(title);
    assert.ok(m, title);
    const margins = await lossChart.locator('.drill .pair .pair-nums').allInnerTexts();
    const nums = margins.map((t) => Number(/margin (\S+)/.exec(t)?.[1]));
    assert.deepEqual(
      nums,
      [...nums].sort((a, b) => a - b),
      'sorted by margin',
    );
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-dark-pairs.png') });
    // A pair opens its line of the data file in the labeling editor, in a group of its own.
    const firstLine = Number(/line (\d+)/.exec(await pairRows.first().locator('.pair-nums').innerText())?.[1]);
    await pairRows.first().click();
    const label = await activeWebviewFrame(page, '#position');
    await label.waitForSelector(`#position:text-is("line ${firstLine}")`, { timeout: 30_000 });
    // Back to the panel alone: close the labeling editor's group (the panel kept the focus).
    await page.locator('.tab', { hasText: 'pairs.jsonl' }).first().click();
    await runCommand(page, 'View: Close Editor Group');
    await page.locator('iframe.webview.ready >> visible=true').waitFor();
    assert.equal(await page.locator('iframe.webview.ready >> visible=true').count(), 1, 'only the panel is on screen again');

    // Export CSV through the save dialog (VS Code's own file dialog in the browser).
    // The dialog proposes <workspace>/metrics.csv; wait until it has filled that in, then accept it.
    const csv = path.join(workspace, 'metrics.csv');
    await view.locator('#export-csv').click();
    const dialogInput = page.locator('.quick-input-widget input.input');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Export metrics as CSV' }).waitFor({ state: 'visible', timeout: 30_000 });
    await page.waitForFunction("document.querySelector('.quick-input-widget input.input')?.value.endsWith('metrics.csv')", null, { timeout: 30_000 });
    assert.ok((await dialogInput.inputValue()).endsWith('metrics.csv'), 'the save dialog proposes metrics.csv');
    await page.keyboard.press('Enter');
    try {
      await view.locator('#status', { hasText: `Saved ${csv}` }).waitFor({ timeout: 30_000 });
    } catch (err) {
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-failure.png') });
      throw err;
    }
    const rows = fs.readFileSync(csv, 'utf8').trim().split('\n');
    const header = rows[0].split(',');
    assert.equal(rows.length - 1, metricsLines.length, 'one CSV row per metrics record');
    const lossCol = header.indexOf('loss');
    const stepCol = header.indexOf('step');
    const firstTrain = metricsLines.findIndex((r) => 'loss' in r);
    assert.equal(Number(rows[1 + firstTrain].split(',')[stepCol]), metricsLines[firstTrain].step);
    assert.equal(Number(rows[1 + firstTrain].split(',')[lossCol]), metricsLines[firstTrain].loss);

    // Light theme, then a window reload: the panel comes back with the finished run.
    await theme('Light Modern', false);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-light.png') });
    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    const restored = activeWebview(page).locator('.run-summary', { hasText: 'step' }).first();
    await restored.waitFor({ timeout: 60_000 });
    const finalStep = metricsLines.filter((r) => 'loss' in r).pop()!.step;
    assert.match(await restored.innerText(), new RegExp(`step ${finalStep}\\b`));
  });
});
