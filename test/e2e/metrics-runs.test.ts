// The metrics panel with run folders made beforehand (two finished runs overlaid, one stopped with a
// checkpoint), inside a real VS Code: one legend with each run once in the colour of its lines in
// every chart, the cursor tooltip ("ended at step N" past a run's end), the charts by keyboard only
// (drill-down over the chart with the pair's prompt, zoom and reset), a switch from Dark Modern to
// Light Modern re-colouring the axes, Resume of the stopped run, and the empty panel.
// Screenshots with DPO_SCREENSHOTS=<folder>.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, pickRow, runCommand, setTheme, startWorkbench } from './helpers';

const SHOTS = process.env.DPO_SCREENSHOTS;

/** The webview's globals and elements, typed just enough for the functions run there (tests compile without the DOM lib). */
interface Win {
  getComputedStyle(e: unknown): { backgroundColor: string; outlineStyle: string; getPropertyValue(name: string): string };
  document: { activeElement: unknown; body: unknown };
  devicePixelRatio: number;
}
interface El {
  dataset: Record<string, string | undefined>;
  offsetLeft: number;
  querySelector(s: string): unknown;
}
interface Canvas2d {
  height: number;
  getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
const TRAIN = ['--batch-size', '2', '--learning-rate', '0.001', '--eval-steps', '4', '--max-length', '96'];

/** A run stopped the way Ctrl-C stops one: after its first checkpoint, SIGINT, a final checkpoint and a "stopped" status. */
async function stoppedRun(workspace: string, out: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'dpo.js'),
      'train',
      '--model',
      'models/tiny',
      '--data',
      'pairs.jsonl',
      '--out',
      out,
      '--max-steps',
      '40',
      '--save-steps',
      '2',
      ...TRAIN,
    ],
    {
      cwd: workspace,
      stdio: 'ignore',
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const first = path.join(out, 'checkpoints', 'step-2', 'trainer_state.json');
  while (!fs.existsSync(first)) {
    if (child.exitCode !== null) throw new Error(`dpo train exited (${child.exitCode}) before its first checkpoint`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 0, 'the stopped run exits cleanly');
}

const metricsOf = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('metrics panel with run folders', { timeout: 600_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  let view: FrameLocator;
  const runs = (name: string) => path.join(workspace, '.dpo', 'runs', name);

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-metrics-runs-'));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '128');
    fs.copyFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), path.join(workspace, 'pairs.jsonl'));
    const train = (name: string, steps: number) =>
      dpo(
        'train',
        '--model',
        path.join(workspace, 'models', 'tiny'),
        '--data',
        path.join(workspace, 'pairs.jsonl'),
        '--out',
        runs(name),
        '--max-steps',
        String(steps),
        ...TRAIN,
      );
    train('run-a', 16);
    train('run-b', 10);
    await stoppedRun(workspace, runs('run-c'));
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await setTheme(page, 'Dark Modern', true);
    view = activeWebview(page);
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  /** Opens (or adds to) the panel through DPO: Open Metrics, ticking these runs in its multi-select. */
  async function openRuns(names: string[]): Promise<void> {
    await runCommand(page, 'DPO: Open Metrics');
    for (const n of names) await pickRow(page, n, 'Open Metrics');
    await page.keyboard.press('Enter');
    for (const n of names) await view.locator(`.legend-run[data-run="${n}"]`).waitFor({ timeout: 60_000 });
  }

  /** Hovers a chart's plot at a fraction of its width and returns the tooltip. */
  async function hover(chart: string, fraction: number) {
    const over = view.locator(`.chart[data-chart="${chart}"] .u-over`);
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: Math.min(box.width - 1, box.width * fraction), y: box.height / 2 } });
    const tip = view.locator(`.chart[data-chart="${chart}"] .tooltip`);
    await tip.waitFor({ state: 'visible' });
    return tip;
  }

  it('shows one legend with each run once, in the colour of its lines in every chart, and a cursor tooltip', async () => {
    await openRuns(['run-a', 'run-b']);
    const legend = view.locator('.legend-run');
    assert.deepEqual((await legend.evaluateAll((els) => els.map((e) => (e as unknown as El).dataset.run))).sort(), ['run-a', 'run-b'], 'each run once');
    assert.equal(await view.locator('.u-legend').count(), 0, 'no legend rows per chart');
    assert.equal(
      await view.locator('.legend-run[data-run="run-a"] .detail').innerText(),
      'tfjs · sigmoid · β 0.1 · lr 0.001',
      'the legend tells runs apart by engine, objective, β and learning rate',
    );
    const legendColor = async (run: string) =>
      view.locator(`.legend-run[data-run="${run}"] .swatch`).evaluate((e) => (globalThis as unknown as Win).getComputedStyle(e).backgroundColor);
    const colors = { 'run-a': await legendColor('run-a'), 'run-b': await legendColor('run-b') };
    assert.notEqual(colors['run-a'], colors['run-b'], 'two runs, two hues');
    for (const chart of ['loss', 'rewards', 'margins', 'logps']) {
      // At the right edge: step 16, past run-b's end (10).
      const tip = await hover(chart, 1);
      assert.match(await tip.locator('.tt-head').innerText(), /step 16/);
      for (const run of ['run-a', 'run-b'] as const) {
        const row = tip.locator(`.tt-run[data-run="${run}"]`);
        assert.equal(await row.count(), 1, `${chart}: ${run} once in the tooltip`);
        // The tooltip's swatch takes the colour uPlot strokes the run's line with.
        const stroke = await row.locator('.swatch').evaluate((e) => (globalThis as unknown as Win).getComputedStyle(e).backgroundColor);
        assert.equal(stroke, colors[run], `${chart}: ${run}'s line has its legend colour`);
      }
      assert.match(await tip.locator('.tt-run[data-run="run-b"]').innerText(), /ended at step 10/, `${chart}: run-b ended before the cursor`);
      assert.doesNotMatch(await tip.innerText(), /raw/, 'the raw line is not listed');
    }
    const rewards = await hover('rewards', 0.3);
    assert.match(await rewards.locator('.tt-run[data-run="run-a"]').innerText(), /chosen -?\d.*rejected -?\d/, 'both series of a pair, by name');
    // The text alternative: title, runs, the last step and each run's value.
    const alt = await view.locator('.chart[data-chart="loss"] .plot').getAttribute('aria-label');
    assert.match(alt!, /^Loss chart, 2 runs, last step 16: run-[ab] \d\.\d+, run-[ab] \d\.\d+$/);
    assert.equal(await view.locator('[aria-live]:not(#announce)').count(), 0, 'the summary is not a live region');
    for (const width of [1600, 700]) {
      await page.setViewportSize({ width, height: 1000 });
      await hover('loss', 0.8);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `metrics-dark-${width}-overlay.png`) });
    }
    // Wall time reads as a clock (m:ss here), not as raw seconds.
    const xAxis = (value: string) =>
      view.locator('#x-axis').evaluate((el, v) => {
        (el as unknown as { value: string }).value = v;
        el.dispatchEvent(new Event('change'));
      }, value);
    await xAxis('time');
    assert.match(await (await hover('loss', 0.5)).locator('.tt-head').innerText(), /^wall time \d+:\d\d$/);
    await xAxis('step');
    assert.match(await (await hover('loss', 0.4)).locator('.tt-head').innerText(), /^step \d+$/);
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('opens a step’s pairs over its chart and zooms, by keyboard only', async () => {
    const card = view.locator('.chart[data-chart="loss"]');
    const plot = card.locator('.plot');
    // Tab from the chart's PNG button reaches the plot.
    await card.locator('.png').focus();
    await page.keyboard.press('Tab');
    assert.equal(await plot.evaluate((e) => e === (globalThis as unknown as Win).document.activeElement), true, 'the chart is in the tab order');
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.match(await card.locator('.tooltip .tt-head').innerText(), /step 14/, 'two steps back from the last');
    await page.keyboard.press('Enter');
    const drill = card.locator('.drill');
    await drill.waitFor({ timeout: 30_000 });
    assert.match(await drill.locator('.drill-title').innerText(), /run-a · step 14 \(train\)/);
    // The worst pair's prompt, as the data file holds it.
    const pairs = fs
      .readFileSync(path.join(runs('run-a'), 'pairs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((p) => p.step === 14 && p.split === 'train')
      .sort((a, b) => a.margin - b.margin);
    const data = fs.readFileSync(path.join(workspace, 'pairs.jsonl'), 'utf8').split('\n');
    const worst = JSON.parse(data[pairs[0].line - 1]);
    const first = drill.locator('.pair').first();
    assert.equal((await first.locator('.pair-prompt').innerText()).replace(/^prompt\s*/, ''), worst.prompt.trim().split('\n')[0]);
    assert.match(
      await first.locator('.pair-chosen').innerText(),
      new RegExp(
        worst.chosen
          .trim()
          .split('\n')[0]
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      ),
    );
    assert.equal(await first.evaluate((e) => e === (globalThis as unknown as Win).document.activeElement), true, 'focus moves to the first pair');
    // Over the chart, not below every chart.
    const [c, d] = [(await card.boundingBox())!, (await drill.boundingBox())!];
    assert.ok(
      d.y >= c.y && d.y + d.height <= c.y + c.height + 1,
      `the pairs (${d.y}..${d.y + d.height}) are inside the chart card (${c.y}..${c.y + c.height})`,
    );
    assert.match(
      await first.evaluate((e) => (globalThis as unknown as Win).getComputedStyle(e).outlineStyle),
      /solid/,
      'the focused pair has a visible outline',
    );
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-dark-drill.png') });
    await page.keyboard.press('Escape');
    await drill.waitFor({ state: 'detached' });
    assert.equal(await plot.evaluate((e) => e === (globalThis as unknown as Win).document.activeElement), true, 'Escape returns to the chart');

    const range = async () =>
      (await plot.evaluate((e) => [Number((e as unknown as El).dataset.xMin), Number((e as unknown as El).dataset.xMax)])) as [number, number];
    const full = await range();
    await page.keyboard.press('+');
    const zoomed = await range();
    assert.ok(Math.abs(zoomed[1] - zoomed[0] - (full[1] - full[0]) / 2) < 1e-6, `+ halves the x range: ${full} -> ${zoomed}`);
    const reset = card.locator('.reset-zoom');
    assert.equal(await reset.isVisible(), true, 'a Reset zoom button while zoomed');
    await page.keyboard.press('0');
    assert.deepEqual(await range(), full, '0 resets the zoom');
    assert.equal(await reset.isVisible(), false);
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    assert.ok((await range())[1] - (await range())[0] < (full[1] - full[0]) / 3);
    await reset.focus();
    await page.keyboard.press('Enter');
    assert.deepEqual(await range(), full, 'the Reset zoom button resets');
  });

  it('re-colours the axes and grid when the theme switches from Dark Modern to Light Modern', async () => {
    const card = view.locator('.chart[data-chart="loss"]');
    // What the theme says, and what the chart was drawn with (and the lightness of its axis labels).
    const read = () =>
      card.evaluate((el) => {
        const w = globalThis as unknown as Win;
        const box = el as unknown as El;
        const css = w.getComputedStyle(w.document.body);
        const canvas = box.querySelector('canvas') as Canvas2d;
        const ctx = canvas.getContext('2d');
        // The y axis left of its ticks (drawn in the grid colour): the tick labels and the axis label.
        const left = ((box.querySelector('.u-over') as El).offsetLeft - 14) * w.devicePixelRatio;
        const img = ctx.getImageData(0, 0, Math.max(1, Math.floor(left)), canvas.height).data;
        let sum = 0;
        let n = 0;
        for (let i = 0; i < img.length; i += 4) {
          if (img[i + 3] <= 200) continue;
          sum += (img[i] + img[i + 1] + img[i + 2]) / 3;
          n++;
        }
        return {
          themeFg: css.getPropertyValue('--vscode-foreground').trim(),
          themeGrid: css.getPropertyValue('--vscode-editorWidget-border').trim(),
          axis: box.dataset.axisColor,
          grid: box.dataset.gridColor,
          labelLightness: n ? sum / n / 255 : NaN,
        };
      });
    const dark = await read();
    assert.equal(dark.axis, dark.themeFg);
    assert.ok(dark.labelLightness > 0.5, `light axis labels on Dark Modern (${dark.labelLightness})`);
    await setTheme(page, 'Light Modern', false);
    let light = await read();
    for (let i = 0; i < 50 && light.axis === dark.axis; i++) {
      await page.waitForTimeout(100);
      light = await read();
    }
    assert.notEqual(light.themeFg, dark.themeFg, 'the theme changed');
    assert.equal(light.axis, light.themeFg, 'axis colour is the new theme foreground');
    assert.equal(light.grid, light.themeGrid, 'grid colour is the new theme border colour');
    assert.ok(light.labelLightness < 0.5, `dark axis labels on Light Modern (${light.labelLightness})`);
    for (const width of [1600, 700]) {
      await page.setViewportSize({ width, height: 1000 });
      await hover('loss', 0.8);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `metrics-light-${width}-overlay.png`) });
    }
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('draws checkpoint evaluations (eval/*/summary.json) as KL and win-rate points against step, arriving in any order', async () => {
    const summary = (step: number, kl: number, winRate: number) => ({
      version: 1,
      created: '2026-12-03T00:00:00Z',
      engine: 'tfjs',
      policy: 'p',
      reference: 'r',
      step,
      prompts: 2,
      samples: 2,
      seed: 1,
      max_new_tokens: 8,
      temperature: 1,
      kl,
      kl_ci: [kl - 0.1, kl + 0.1],
      kl_exact_sampler: true,
      win_rate: winRate,
      win_rate_ci: [0, 1],
      judges: {},
      models: { policy: { answers: 4, mean_length: 8 }, reference: { answers: 4, mean_length: 8 } },
    });
    const write = (name: string, body: object) => {
      fs.mkdirSync(path.join(runs('run-a'), 'eval', name), { recursive: true });
      fs.writeFileSync(path.join(runs('run-a'), 'eval', name, 'summary.json'), JSON.stringify(body));
    };
    assert.equal(await view.locator('.chart[data-chart="gen_kl"]').count(), 0, 'no chart before there is an evaluation');
    write('checkpoint-16', summary(16, 0.5, 0.75));
    await view.locator('.chart[data-chart="gen_kl"]').waitFor({ timeout: 30_000 });
    write('checkpoint-8', summary(8, 0.25, 0.6)); // a late arrival for an earlier step
    await view.locator('.chart[data-chart="gen_win_rate"]').waitFor({ timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 2500)); // the panel polls each second
    const tip = await hover('gen_kl', 1);
    assert.match(await tip.locator('.tt-head').innerText(), /step 16/);
    assert.match(await tip.locator('.tt-run[data-run="run-a"]').innerText(), /0\.5/);
    const loss = await hover('loss', 1);
    assert.match(await loss.locator('.tt-head').innerText(), /step 16/, 'the other charts are unchanged');
  });

  it('offers Resume for a stopped run, which continues it to the end', async () => {
    const stopped = metricsOf(runs('run-c'))
      .filter((r) => r.kind === 'status')
      .pop();
    assert.equal(stopped.status, 'stopped');
    await openRuns(['run-c']);
    const row = view.locator('.run-summary[data-run="run-c"]');
    await row.locator('.state', { hasText: 'resumable' }).waitFor({ timeout: 30_000 });
    assert.match(await row.locator('.state').innerText(), new RegExp(`^stopped at step ${stopped.step} of 40 — resumable`));
    const resume = row.locator('.resume');
    assert.equal(await resume.getAttribute('aria-label'), 'Resume run run-c from its last checkpoint');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-light-resumable.png') });
    await resume.click();
    await row.locator('.state', { hasText: /^completed · step 40\/40/ }).waitFor({ timeout: 300_000 });
    assert.equal(await resume.isVisible(), false, 'no Resume once it completed');
    const last = metricsOf(runs('run-c'))
      .filter((r) => r.kind === 'status')
      .pop();
    assert.deepEqual([last.status, last.step], ['completed', 40], 'the folder says the resumed run completed');
  });

  it('says what to do when no run is shown', async () => {
    for (const name of ['run-a', 'run-b', 'run-c']) await view.getByRole('button', { name: `Remove run ${name} from the panel` }).click();
    const empty = view.locator('#empty');
    await empty.waitFor({ state: 'visible' });
    assert.match(await empty.innerText(), /DPO: New Training Run/);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'metrics-light-empty.png') });
    await view.locator('#empty-new').click();
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '(1/5)' }).waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.press('Escape');
  });
});
