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
    await view.locator('#prompt textarea').fill('Q: What color is the sky?\nA:');
    await view.locator('#maxNewTokens input').fill('24');
    await view.locator('#maxNewTokens input').dispatchEvent('change');
    await view.locator('#generate').click();
    for (const w of ['policy', 'reference']) {
      await view
        .locator(`#reason-${w}`)
        .filter({ hasText: /^finished: / })
        .waitFor({ timeout: 60_000 });
      await view.locator(`#text-${w} .token`).first().waitFor({ timeout: 30_000 });
    }
    const tokens = await view.locator('#text-policy .token').count();
    assert.ok(tokens > 0, 'the policy answer is shown as reward-coloured tokens');
    const title = await view.locator('#text-policy .token').first().getAttribute('title');
    assert.match(title ?? '', /log πθ = -?\d+\.\d{4}\nlog πref = -?\d+\.\d{4}/);
    assert.match(await view.locator('#summary').innerText(), /σ\(margin\) = 0\.\d{4}/);
    const policyText = await view.locator('#text-policy').innerText();
    const referenceText = await view.locator('#text-reference').innerText();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'probe-answers.png') });
    await view.locator('#promote-policy').click();
    await view.locator('#status').filter({ hasText: 'Added the pair as line 1' }).waitFor({ timeout: 30_000 });
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
