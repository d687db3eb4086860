// Clicks in the probe webview inside a real VS Code (code-server in headless Chromium): open the
// panel from the command palette on a tiny trained run, generate, watch both answers finish and
// their reward heatmaps appear, promote the pair, and find it in the preference file.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, runCommand, startWorkbench } from './helpers';

const SHOTS = process.env.DPO_SCREENSHOTS;

describe('probe panel in a real VS Code', { timeout: 240_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  const logs: string[] = [];

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-'));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '128');
    dpo(
      'train',
      '--model',
      path.join(workspace, 'models', 'tiny'),
      '--data',
      path.join(ROOT, 'examples', 'preferences.jsonl'),
      '--out',
      path.join(workspace, '.dpo', 'runs', 'probe-run'),
      '--max-steps',
      '3',
      '--batch-size',
      '4',
      '--learning-rate',
      '0.001',
      '--eval-fraction',
      '0',
      '--max-length',
      '96',
    );
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT, onLog: (_t, text) => logs.push(text) }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('generates from both models, shows the heatmaps, and promotes the pair to the file', async () => {
    await runCommand(page, 'DPO: Probe Model');
    const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: 'probe-run' }).first();
    await pick.waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.press('Enter');
    const view: FrameLocator = activeWebview(page);
    await view.locator('#models').filter({ hasText: 'probe-run' }).waitFor({ timeout: 60_000 });
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'probe-empty.png') });
    // The closed data picker says what it is for (it was blank).
    await view.locator('#data-pair input').first().waitFor();
    assert.equal(await view.locator('#data-pair input').first().inputValue(), '(type a prompt, or pick a pair)');
    // The fields name their inner inputs (a <label> does not reach into the shadow DOM).
    assert.equal(await view.locator('#maxNewTokens input').getAttribute('aria-label'), 'max tokens');
    assert.equal(await view.locator('#prompt textarea').getAttribute('aria-label'), 'Prompt');
    // The busy ring is not an assertive live region announcing "Loading" (the component's default).
    assert.deepEqual([await view.locator('#busy').getAttribute('aria-label'), await view.locator('#busy').getAttribute('aria-live')], ['Generating', 'off']);
    await view.locator('#prompt textarea').fill('Q: What color is the sky?\nA:');
    await view.locator('#maxNewTokens input').fill('24');
    await view.locator('#maxNewTokens input').dispatchEvent('change');
    // Records whether each answer showed its loading state before its first token (a render that
    // comes and goes faster than a poll could see).
    // (Typed by hand: this file is compiled without the DOM's types.)
    type Doc = { querySelector(s: string): { textContent: string | null } | null };
    type Observer = new (cb: () => void) => { observe(n: unknown, o: object): void };
    await view.locator('body').evaluate((body: { dataset: Record<string, string>; ownerDocument: Doc }) => {
      const seen: string[] = [];
      const MO = (globalThis as unknown as { MutationObserver: Observer }).MutationObserver;
      new MO(() => {
        for (const w of ['policy', 'reference'])
          if (!seen.includes(w) && body.ownerDocument.querySelector(`#text-${w}[aria-busy="true"] .loading`)?.textContent === 'waiting for the first token…') {
            seen.push(w);
            body.dataset.loadingSeen = seen.sort().join(',');
          }
      }).observe(body, { subtree: true, childList: true, attributes: true });
    });
    await view.locator('#generate').click();
    for (const w of ['policy', 'reference']) {
      await view
        .locator(`#reason-${w}`)
        .filter({ hasText: /^(reached max tokens \(24\)|ended: end-of-sequence token)$/ })
        .waitFor({ timeout: 60_000 });
      await view.locator(`#text-${w} .token`).first().waitFor({ timeout: 30_000 });
    }
    assert.equal(await view.locator('body').getAttribute('data-loading-seen'), 'policy,reference');
    const tokens = await view.locator('#text-policy .token').count();
    assert.ok(tokens > 0, 'the policy answer is shown as reward-coloured tokens');
    assert.equal(await view.locator('.token[title]').count(), 0, 'no native title tooltips');

    // One colour scale for both columns: every token's strength is |reward| / scale of the legend.
    await view.locator('#legend .legend-units', { hasText: 'per-token reward β·Δ log-prob' }).waitFor();
    const high = await view.locator('#legend .legend-high').innerText();
    const scale = Number(high.replace(/^\+/, '').replace(/ likelier$/, ''));
    assert.ok(scale > 0, high);
    assert.equal(await view.locator('#legend .legend-low').innerText(), `−${high.slice(1).replace(' likelier', '')} less likely`);
    const strengths = await view
      .locator('.answer .token')
      .evaluateAll((els) =>
        els.map((e) => ({ reward: Number(e.getAttribute('data-reward')), pct: Number(/(\d+)%/.exec(e.getAttribute('style') ?? '')?.[1]) })),
      );
    for (const t of strengths) assert.ok(Math.abs(t.pct - Math.round(Math.min(1, Math.abs(t.reward) / scale) * 70)) <= 1, JSON.stringify({ t, scale }));
    // The scale is the largest |reward| of both answers (rounded up to two digits): nothing clipped, one token near full strength.
    const maxAbs = Math.max(...strengths.map((t) => Math.abs(t.reward)));
    assert.ok(maxAbs <= scale && maxAbs > 0.9 * scale, `max |reward| ${maxAbs}, scale ${scale}`);

    // The per-token read-out: a tooltip on hover, and on keyboard focus with arrow keys moving.
    const tip = view.locator('#token-tip');
    await view.locator('#text-reference .token').nth(1).hover();
    await tip.filter({ hasText: 'log πref (reference)' }).waitFor({ state: 'visible' });
    const first = view.locator('#text-policy .token').first();
    await first.focus();
    assert.equal(await first.getAttribute('aria-describedby'), 'token-tip');
    const reward0 = await first.getAttribute('data-reward');
    await tip.filter({ hasText: /reward β·Δ [−+]?\d/ }).waitFor({ state: 'visible' });
    assert.match(await tip.innerText(), /log πθ \(policy\) -?\d+\.\d{4}/);
    await page.keyboard.press('ArrowRight');
    const second = view.locator('#text-policy .token').nth(1);
    await second.and(view.locator(':focus')).waitFor();
    assert.equal(await second.getAttribute('tabindex'), '0', 'the tab stop moves with the arrow keys');
    assert.equal(await first.getAttribute('tabindex'), '-1');
    assert.match(await tip.innerText(), new RegExp(`token ${JSON.stringify(await second.innerText()).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.notEqual(await second.getAttribute('data-reward'), null);
    assert.notEqual(reward0, null);
    await page.keyboard.press('Escape');
    await tip.waitFor({ state: 'hidden' });
    assert.match(await view.locator('#summary').innerText(), /σ\(margin\) = 0\.\d{4}/);
    const policyText = await view.locator('#text-policy').innerText();
    const referenceText = await view.locator('#text-reference').innerText();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'probe-answers.png') });
    await view.locator('#promote-policy').click();
    await view.locator('#status').filter({ hasText: 'Added the pair as line 1' }).waitFor({ timeout: 30_000 });
    // Promoted once: both buttons disabled, and the message links to the file, which opens at the line.
    for (const w of ['policy', 'reference']) await view.locator(`#promote-${w}[disabled]`).waitFor();
    await view.locator('#promoted-file', { hasText: 'probe-pairs.jsonl' }).click();
    await page.locator('.tab', { hasText: 'probe-pairs.jsonl' }).waitFor({ timeout: 30_000 });
    const lines = fs
      .readFileSync(path.join(workspace, '.dpo', 'probe-pairs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].prompt, 'Q: What color is the sky?\nA:');
    assert.equal(lines[0].chosen, policyText);
    assert.equal(lines[0].rejected, referenceText);

    // A pair from the run's data: its chosen and rejected responses, scored side by side.
    const select = view.locator('#data-pair');
    await select.evaluate((el) => {
      (el as unknown as { value: string }).value = '1';
      el.dispatchEvent(new Event('change'));
    });
    await view.locator('#title-policy', { hasText: 'chosen (line 1)' }).waitFor();
    const data = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), 'utf8').split('\n')[0]);
    assert.equal(await view.locator('#prompt textarea').inputValue(), data.prompt);
    await view.locator('#summary', { hasText: 'margin (chosen (line 1) − rejected (line 1))' }).waitFor({ timeout: 30_000 });
    assert.equal((await view.locator('#text-policy .token').allInnerTexts()).join(''), data.chosen);

    // A typed response, scored on demand.
    await view.locator('#edit-reference').click();
    await view.locator('#editor-reference textarea').fill(' The sky is green.');
    await view.locator('#score-reference').click();
    await view.locator('#title-reference', { hasText: 'typed (B)' }).waitFor();
    await view.locator('#reward-reference', { hasText: /^reward -?\d+\.\d{4}$/ }).waitFor({ timeout: 30_000 });
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'probe-data-pair.png') });
  });
});
