// The Evaluate panel in a real VS Code: "DPO: Show Evaluation" over two runs' evaluation folders
// (written by hand per the contract): the table sorts, the judge selector changes the figures, the
// frontier chart draws a point per checkpoint and selects by keyboard and by click, the answers of
// the selected evaluation show side by side, "Add as pair" appends the better answer as chosen (and
// refuses a tie), "Open in Probe" opens the probe on that prompt, a new summary.json appears without
// a reload, and axe finds nothing serious at 1600 and 700 px in dark and light themes.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { ROOT, dpo, runCommand, setTheme, startWorkbench } from './helpers';
import { activeWebviewFrame, axeViolations, describeViolations, serious } from './panels';
import { HandPair, writeEvalFolder, writeRunFolder } from '../unit/helpers/eval-folders';

const SHOTS = process.env.DPO_SCREENSHOTS;

/** The visible webview holding `selector`, retried while a webview (re)loads its document under the lookup. */
async function frameWith(page: Page, selector: string, timeoutMs = 90_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await activeWebviewFrame(page, selector, 5_000);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await page.waitForTimeout(250);
    }
  }
}

/** Polls `probe` (a function of the frame, run through the DevTools protocol: the webview's CSP forbids waitForFunction's eval) until true. */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const PAIRS: HandPair[] = [
  {
    prompt: 'Say hi politely.',
    policy: 'Hello, nice to meet you!',
    reference: 'hi',
    verdicts: { 'llm:judge': 'win', rm: 'win' },
    policyReward: 1,
    referenceReward: 0,
  },
  { prompt: 'Count to three.', policy: 'one two three', reference: '1 2 3', verdicts: { 'llm:judge': 'tie', rm: 'loss' } },
  {
    prompt: 'Name a colour.',
    policy: 'A long answer that keeps going and going about the colour blue and why it is a colour',
    reference: 'Red.',
    verdicts: { 'llm:judge': 'loss', rm: 'win' },
  },
];

describe('Evaluate panel in a real VS Code', { timeout: 600_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  let runs: string;
  let view: Frame;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-evaluate-'));
    const model = path.join(workspace, 'models', 'tiny');
    dpo('make-tiny-model', '--out', model, '--max-positions', '64');
    runs = path.join(workspace, '.dpo', 'runs');
    const points: [string, string, number | undefined, number, number, number][] = [
      ['beta-0.1', 'checkpoint-10', 10, 0.2, 0.55, 0.3],
      ['beta-0.1', 'checkpoint-20', 20, 0.6, 0.68, 0.7],
      ['beta-0.1', 'final', 30, 1.1, 0.74, 0.9],
      ['beta-0.5', 'final', undefined, 0.15, 0.58, 0.35],
    ];
    for (const [run, name, step, kl, win, reward] of points) {
      writeRunFolder(path.join(runs, run), model);
      writeEvalFolder(path.join(runs, run, 'eval', name), {
        step,
        kl,
        judges: { 'llm:judge': win, rm: win - 0.1 },
        meanReward: reward,
        pairs: PAIRS,
        policy: model,
        reference: model,
      });
    }
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await runCommand(page, 'DPO: Show Evaluation');
    view = await frameWith(page, '#table tbody tr');
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('shows the table, sorts it, switches judge, and draws the frontier', async () => {
    await until(async () => (await view.locator('#table tbody tr').count()) === 4, 'the table has 4 rows');
    const firstRow = () => view.locator('#table tbody tr').first().locator('th').innerText();
    // Sort by win rate: descending first (best on top), then ascending.
    await view.locator('button.sort[data-key="winRate"]').click();
    assert.equal(await view.locator('th[aria-sort="descending"] button[data-key="winRate"]').count(), 1);
    assert.equal(await firstRow(), 'beta-0.1 · final');
    await view.locator('button.sort[data-key="winRate"]').click();
    assert.equal(await firstRow(), 'beta-0.1 · checkpoint-10');
    assert.match(await view.locator('#table tbody tr').first().innerText(), /55\.0%\s+45\.0–65\.0/);
    // The other judge: its figures (10 points lower here).
    await view.selectOption('#judge', 'rm');
    assert.match(await view.locator('#table tbody tr').first().innerText(), /45\.0%/);
    await view.selectOption('#judge', 'llm:judge');
    // The frontier: four points in two runs, by mean reward; then by win rate.
    assert.equal(await view.getAttribute('#frontier-plot', 'data-points'), '4');
    assert.match((await view.getAttribute('#frontier-plot', 'aria-label'))!, /mean reward against KL, 4 points in 2 runs/);
    await view.locator('input[name="y"][value="winRate"]').check();
    assert.match((await view.getAttribute('#frontier-plot', 'aria-label'))!, /win rate against KL/);
    assert.equal(await view.locator('#frontier-legend li').count(), 2);
  });

  it('selects a point by keyboard and by click, and shows its answers side by side with the verdicts', async () => {
    await view.focus('#frontier-plot');
    // The first run's first checkpoint, then along the run to its next one.
    await page.keyboard.press('ArrowRight');
    assert.match(await view.locator('#announce').innerText(), /beta-0\.1 checkpoint-20: KL 0\.600, win rate 68\.0%/);
    await page.keyboard.press('Enter');
    await view.locator('#pairs-card:not([hidden]) .pair-card').first().waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('#pairs-title').innerText(), 'Answers: beta-0.1 · checkpoint-20');
    assert.equal(await view.locator('tr.selected th').innerText(), 'beta-0.1 · checkpoint-20');
    const card = view.locator('.pair-card').first();
    assert.match(await card.locator('.answers').innerText(), /Policy[\s\S]*Hello, nice to meet you![\s\S]*reward 1\.000[\s\S]*Reference[\s\S]*hi/);
    assert.match(await card.locator('.verdicts').innerText(), /llm:judge: policy better/);
    // A click on another run's point (where the chart draws it) selects that evaluation.
    const dir = path.join(runs, 'beta-0.5', 'eval', 'final');
    const at = (await view.evaluate(`window.dpoFrontierPoint(${JSON.stringify(dir)})`)) as { left: number; top: number };
    // Hover first: the read-out names the point's run, checkpoint and values.
    await view.locator('#frontier-plot .u-over').hover({ position: { x: at.left, y: at.top } });
    await view.locator('#frontier-tip:not([hidden])', { hasText: 'beta-0.5 final: KL 0.150, win rate 58.0%' }).waitFor({ timeout: 10_000 });
    await view.locator('#frontier-plot .u-over').click({ position: { x: at.left, y: at.top } });
    await view.locator('#pairs-title', { hasText: 'Answers: beta-0.5 · final' }).waitFor({ timeout: 30_000 });
    // A row's button selects too (Enter on it).
    await view.locator('button.pick', { hasText: 'beta-0.1 · final' }).focus();
    await page.keyboard.press('Enter');
    await view.locator('#pairs-title', { hasText: 'Answers: beta-0.1 · final' }).waitFor({ timeout: 30_000 });
  });

  it('adds a won pair to a preference file (asked once), refuses a tie, and opens a prompt in the probe', async () => {
    const cards = view.locator('.pair-card');
    await cards.nth(0).locator('.add-pair').click();
    // The save dialog (VS Code's simple one in the browser): the file's path, then Enter.
    const file = path.join(workspace, '.dpo', 'eval-pairs.jsonl');
    // The simple dialog completes and validates as it is typed into: Enter again until it takes the path.
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    const added = view.locator('#status', { hasText: 'Added the pair as line 1' });
    for (let attempt = 0; !(await added.isVisible()); attempt++) {
      if (attempt === 10) throw new Error(`the save dialog never took ${file}: ${await input.inputValue().catch(() => '(closed)')}`);
      if (await input.isVisible()) {
        if ((await input.inputValue()) !== file) await input.fill(file);
        await page.waitForTimeout(500);
        await input.press('Enter');
      }
      await added.waitFor({ timeout: 3_000 }).catch(() => undefined);
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8').trim()), { prompt: 'Say hi politely.', chosen: 'Hello, nice to meet you!', rejected: 'hi' });
    // A loss by the judge: the reference's answer is the chosen one; no second question.
    await cards.nth(2).locator('.add-pair').click();
    await view.locator('#status', { hasText: 'Added the pair as line 2' }).waitFor({ timeout: 30_000 });
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8').trim().split('\n')[1]).chosen, 'Red.');
    await cards.nth(1).locator('.add-pair').click();
    await view.locator('#status', { hasText: 'a tie' }).waitFor({ timeout: 30_000 });
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 2, 'a tie adds nothing');
    // Open in Probe: the probe panel on that model with the prompt filled in.
    await cards.nth(1).locator('.probe').click();
    const probe = await frameWith(page, '#models');
    const prompt = () => probe.locator('#prompt').evaluate((el) => (el as unknown as { value: string }).value);
    await until(async () => (await prompt()) === 'Count to three.', 'the probe shows the prompt', 90_000);
    await page.locator('.tabs-container .tab', { hasText: 'DPO Evaluation' }).click();
    view = await frameWith(page, '#table tbody tr');
  });

  it('lists a new evaluation as soon as its summary.json is written', async () => {
    writeEvalFolder(path.join(runs, 'beta-0.5', 'eval', 'checkpoint-40'), { step: 40, kl: 0.4, judges: { 'llm:judge': 0.62 }, meanReward: 0.5, pairs: PAIRS });
    await until(async () => (await view.locator('#table tbody tr').count()) === 5, 'the new evaluation is listed');
  });

  for (const [theme, dark] of [
    ['Dark Modern', true],
    ['Light Modern', false],
  ] as const) {
    it(`is axe-clean and fits the panel at 1600 and 700 px in ${theme}`, async () => {
      await setTheme(page, theme, dark);
      await page.locator('.tabs-container .tab', { hasText: 'DPO Evaluation' }).click();
      view = await frameWith(page, '#table tbody tr');
      for (const width of [1600, 700]) {
        await page.setViewportSize({ width, height: 1000 });
        await page.waitForTimeout(300); // the ResizeObserver resizes the chart on the next frame
        const overflow = (await view.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
        assert.ok(overflow <= 0, `at ${width} px nothing runs off the side (${overflow} px too wide)`);
        const found = await axeViolations(view);
        console.log(`axe ${theme} ${width}px: ${serious(found).length} serious/critical, ${found.length} in all\n${describeViolations(found)}`);
        assert.deepEqual(serious(found), [], describeViolations(serious(found)));
        if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `evaluate-${dark ? 'dark' : 'light'}-${width}.png`) });
      }
      await page.setViewportSize({ width: 1400, height: 900 });
    });
  }
});
