// The first seconds of a run in a real VS Code: with dpo.metrics.openOnRunStart off a started run
// opens no panel; on, the metrics panel opens by itself, shows the run's phase and progress and
// chart frames with their titles before the first step (at 700 and 1600 px), keeps the loss chart
// where its frame was, and names step 0's evaluation (policy = reference, ties) rather than "no
// eval yet". A drill-down pair with a long prompt wraps, and opens in the labeling editor without
// halving the panel (beside it at 1600 px, below it at 700 px). A `dpo train` from a terminal opens it too.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, runCommand, startWorkbench } from './helpers';
import { activeWebviewFrame, openFromExplorer } from './panels';

const SHOTS = process.env.DPO_SCREENSHOTS;

/** A prompt longer than a narrow card's line, so a card that does not wrap cuts it. */
const LONG = 'Answer in one short sentence, the way a careful and honest assistant would answer a child. ';

describe('metrics panel at the start of a run', { timeout: 900_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  const runsDir = () => path.join(workspace, '.dpo', 'runs');
  const settings = (on: boolean) =>
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dpo.metrics.openOnRunStart': on, 'workbench.startupEditor': 'none' }));

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-metrics-start-'));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '256');
    // 1,200 pairs with long prompts and a 20% eval split: step 0's evaluation (240 pairs) keeps the
    // run before its first step for several seconds, long enough to look at it.
    const lines = fs
      .readFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const long = lines.map((l) => {
      const p = JSON.parse(l) as { prompt: string };
      return JSON.stringify({ ...p, prompt: LONG + p.prompt });
    });
    fs.writeFileSync(path.join(workspace, 'pairs.jsonl'), [...long, ...long, ...long, ...long].join('\n') + '\n');
    const config = (name: string, extra: Record<string, unknown>) =>
      fs.writeFileSync(
        path.join(workspace, `${name}.dpo.json`),
        JSON.stringify({ mode: 'dpo', model: 'models/tiny', data: 'pairs.jsonl', batch_size: 4, max_length: 192, output_dir: `.dpo/runs/${name}`, ...extra }),
      );
    config('quiet', { max_steps: 1, eval_fraction: 0 });
    // 16 pairs a step: the step-0 evaluation's values stay in the frames for a step's time.
    config('watched', { max_steps: 3, eval_fraction: 0.2, eval_steps: 3, learning_rate: 1e-3, batch_size: 16 });
    fs.mkdirSync(path.join(workspace, '.vscode'));
    settings(false);
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  const metricsTab = () => page.locator('.tabs-container .tab', { hasText: 'DPO Metrics' });

  it('opens no panel when dpo.metrics.openOnRunStart is false', async () => {
    await openFromExplorer(page, 'quiet.dpo.json');
    await runCommand(page, 'DPO: Start Run From Config');
    // The run goes through all its phases to its final model: the panel would have opened at its start.
    const final = path.join(runsDir(), 'quiet', 'final', 'model.safetensors');
    for (const deadline = Date.now() + 180_000; !fs.existsSync(final); await page.waitForTimeout(250))
      if (Date.now() > deadline) throw new Error('the run did not finish within 180 s');
    assert.equal(await metricsTab().count(), 0, 'no metrics panel opened');
  });

  it('opens by itself with the phase and chart frames, keeps the layout when data comes, and names step 0', async () => {
    settings(true);
    await page.waitForTimeout(2000); // the configuration service reads the changed settings.json
    await page.setViewportSize({ width: 700, height: 1000 });
    await openFromExplorer(page, 'watched.dpo.json');
    await runCommand(page, 'DPO: Start Run From Config');
    await metricsTab().first().waitFor({ timeout: 30_000 });
    const view = activeWebview(page);
    const frames = view.locator('.chart.placeholder');
    await frames.first().waitFor({ timeout: 60_000 });
    // Before the first step: the run's line, its phase, and the frames of the charts it will draw.
    const records = path.join(runsDir(), 'watched', 'metrics.jsonl');
    assert.ok(!fs.existsSync(records) || !fs.readFileSync(records, 'utf8').includes('"loss"'), 'no training step yet');
    const titles = await frames.locator('h3').allInnerTexts();
    for (const t of ['Loss', 'Reward margin', 'Reward accuracy']) assert.ok(titles.includes(t), `a frame titled ${t}: ${titles.join(', ')}`);
    assert.match(await frames.first().innerText(), /waiting for the first step/);
    await view
      .locator('.run-summary', { hasText: /starting: (starting the engine|tokenizing|loading|evaluating|precomputing reference)/ })
      .waitFor({ timeout: 30_000 });
    await view.locator('.run-summary .phase progress').waitFor({ timeout: 30_000 });
    await checkFrames(view, 700);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-start-700.png') });
    await page.setViewportSize({ width: 1600, height: 1000 });
    await checkFrames(view, 1600);
    const frameBox = (await view.locator('.chart.placeholder[data-chart="loss"]').boundingBox())!;
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-start-1600.png') });
    // The engine's own count: step 0's evaluation of the 240 held-out pairs.
    await view.locator('.run-summary', { hasText: /starting: evaluating.* \d+\/240/ }).waitFor({ timeout: 60_000 });
    const bar = view.locator('.run-summary .phase progress');
    assert.equal(await bar.getAttribute('max'), '240', 'the bar counts the pairs evaluated');
    assert.match((await bar.getAttribute('aria-label')) ?? '', /evaluating.* \d+\/240/);
    // The frames show step 0's evaluation values where they have them, still at a chart's size.
    await view.locator('.chart.placeholder[data-chart="loss"]', { hasText: /eval at step 0: loss 0\.69/ }).waitFor({ timeout: 300_000 });
    await checkFrames(view, 1600);

    // The first step: the loss chart takes its frame's place, at its size.
    const loss = view.locator('.chart[data-chart="loss"]:not(.placeholder)');
    await loss.locator('canvas').first().waitFor({ timeout: 120_000 });
    const chartBox = (await loss.boundingBox())!;
    for (const k of ['x', 'y', 'width', 'height'] as const)
      assert.ok(Math.abs(chartBox[k] - frameBox[k]) <= 3, `the loss chart's ${k} (${chartBox[k]}) is its frame's (${frameBox[k]})`);
    // Only step 0's evaluation so far: the line says what it is, not "no eval yet" nor a 0% accuracy.
    const state = view.locator('.run-summary .state').first();
    const text = await state.innerText();
    if (!/best eval margin/.test(text)) {
      assert.match(text, /eval at step 0: policy = reference, margins 0 → ties, not errors/);
      assert.doesNotMatch(text, /no eval yet/);
    }
    await view.locator('.chart[data-chart="accuracies"] .plot-note', { hasText: 'ties, not errors' }).waitFor({ timeout: 60_000 });
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-start-step0.png') });
    await view.locator('.run-summary', { hasText: 'completed' }).waitFor({ timeout: 300_000 });
    assert.match(await state.innerText(), /best eval margin/);
    assert.equal(await view.locator('.chart.placeholder').count(), 0, 'no frame is left once the run has data');
  });

  it('wraps a pair card at 700 px and opens the pair in the labeling editor without halving the panel', async () => {
    for (const width of [1600, 700]) {
      await page.setViewportSize({ width, height: 1000 });
      const view = activeWebview(page);
      const panel = page.locator('iframe.webview.ready >> visible=true');
      // The workbench lays out again after a resize: measure the panel once it fits the new width.
      let before = (await panel.boundingBox())!;
      for (let i = 0; i < 50 && before.x + before.width > width; i++) {
        await page.waitForTimeout(100);
        before = (await panel.boundingBox())!;
      }
      const over = view.locator('.chart[data-chart="loss"] .u-over');
      const box = (await over.boundingBox())!;
      await over.click({ position: { x: box.width - 2, y: box.height / 2 } });
      const pair = view.locator('.chart[data-chart="loss"] .drill .pair').first();
      await pair.waitFor({ timeout: 30_000 });
      // The prompt's whole first line is there and fits its card: wrapped, not cut.
      const prompt = pair.locator('.pair-prompt');
      const shown = await prompt.innerText();
      assert.ok(shown.includes(LONG.trim()) && !shown.endsWith('…'), `the whole prompt line: ${shown}`);
      const fits = await prompt.evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
      assert.ok(fits, `at ${width} px the prompt wraps inside its card`);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `metrics-drill-${width}.png`) });
      const line = Number(/line (\d+)/.exec(await pair.locator('.pair-nums').innerText())?.[1]);
      await pair.click();
      const label = await activeWebviewFrame(page, '#position');
      await label.waitForSelector(`#position:text-is("line ${line}")`, { timeout: 30_000 });
      const after = (await panel.first().boundingBox())!;
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `metrics-label-${width}.png`) });
      if (width === 1600) {
        assert.ok(after.width >= before.width * 0.55, `beside: the panel keeps ${after.width} of ${before.width} px`);
      } else {
        assert.ok(after.width >= before.width - 2, `below: the panel keeps its width (${after.width} of ${before.width} px)`);
        assert.ok(after.height >= before.height * 0.55, `below: the panel keeps ${after.height} of ${before.height} px of height`);
      }
      // Back to the panel alone for the next width.
      await page.locator('.tab', { hasText: 'pairs.jsonl' }).first().click();
      await runCommand(page, 'View: Close Editor Group');
      await page.waitForFunction("document.querySelectorAll('iframe.webview.ready').length >= 1");
      await metricsTab().first().click();
      await activeWebview(page).locator('.drill .close').click();
    }
  });

  it('opens on a run a terminal starts in the runs folder', async () => {
    await runCommand(page, 'View: Close All Editors');
    await metricsTab().first().waitFor({ state: 'detached', timeout: 30_000 });
    const out = path.join(runsDir(), 'cli-run');
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'dpo.js'),
        'train',
        '--model',
        path.join(workspace, 'models', 'tiny'),
        '--data',
        path.join(workspace, 'pairs.jsonl'),
        '--out',
        out,
        '--max-steps',
        '24',
        '--batch-size',
        '4',
        '--max-length',
        '192',
        '--eval-fraction',
        '0',
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      await metricsTab().first().waitFor({ timeout: 60_000 });
      await activeWebview(page).locator('.run-summary', { hasText: 'cli-run' }).waitFor({ timeout: 60_000 });
      // While the terminal's process runs (it holds run.lock), the run is shown running or starting
      // with the engine's phase words (progress.json): not "ended", as a folder without a writer is.
      await activeWebview(page)
        .locator('.run-summary', { hasText: /cli-run.*(starting: |running · step)/ })
        .waitFor({ timeout: 60_000 });
    } finally {
      await exited;
    }
    await activeWebview(page)
      .locator('.run-summary', { hasText: /cli-run.*completed/ })
      .waitFor({ timeout: 30_000 });
  });
});

/** The chart frames fit the panel at this width: one column at 700 px, several at 1600 px, none cut. */
async function checkFrames(view: FrameLocator, width: number): Promise<void> {
  // Frames and the charts that have taken their place (a fast first step can replace a frame between
  // the wait before this check and the check): the layout must hold for both.
  const frames = view.locator('.chart');
  const boxes = [];
  for (let i = 0; i < (await frames.count()); i++) {
    const box = await frames.nth(i).boundingBox();
    if (box) boxes.push(box); // null: not shown
  }
  assert.ok(boxes.length >= 3, `the loss, margin and accuracy frames or charts are shown (${boxes.length})`);
  const grid = (await view.locator('#grid').boundingBox())!;
  for (const b of boxes)
    assert.ok(b.x + b.width <= grid.x + grid.width + 1, `at ${width} px a frame (right edge ${b.x + b.width}) fits the grid (${grid.x + grid.width})`);
  const columns = new Set(boxes.map((b) => Math.round(b.x))).size;
  if (width === 700) assert.equal(columns, 1, 'one column at 700 px');
  else assert.ok(columns >= 2, `several columns at 1600 px (${columns})`);
  // Every frame is a chart's height, so the data does not push the page about when it comes.
  for (const b of boxes) assert.ok(b.height >= 230, `a frame is a chart's height (${b.height} px)`);
}
