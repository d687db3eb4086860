// The labeling editor as a new user meets it (issue #28, item 8), in a real VS Code (code-server in
// headless Chromium): the bundled example file, whose pairs come labeled, says so in plain words; a
// tie on a labeled line says what it did and the bar shows it; E puts typed text in a text box; the
// labeling editor does not leave a second tab of the same name beside it.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT, startWorkbench } from './helpers';
import { openInLabelEditor } from './panels';
import { givenNote } from '../../webview/labeling/view-text';

const SHOTS = process.env.DPO_SCREENSHOTS;

describe('labeling editor, first hour (#28 item 8)', { timeout: 400_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  let view: FrameLocator;
  const data = () => path.join(workspace, 'preferences.jsonl');

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-first-hour-'));
    fs.copyFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), data());
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('opens the example file as pairs that came labeled, in plain words, in one tab', async () => {
    view = await openInLabelEditor(page, 'preferences.jsonl');
    await view.locator('#counts', { hasText: '300 labeled (all as the file came) · 0 tie · 0 skipped · 0 left' }).waitFor({ timeout: 60_000 });
    const note = await view.locator('#given-note').innerText();
    assert.equal(note.trim(), givenNote(false));
    assert.doesNotMatch(await view.locator('#pair .pair-head').innerText(), /chosen\/rejected|"responses"/);
    assert.equal((await view.locator('#file').innerText()).trim(), `${path.basename(workspace)}/preferences.jsonl — labeling`);
    // The text tab Label Pairs was run from gave way: one tab of that name, the labeling editor's.
    await page.locator('.tab', { hasText: 'preferences.jsonl' }).nth(1).waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await page.locator('.tab', { hasText: 'preferences.jsonl' }).count(), 1);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'labeling-example.png') });
  });

  it('T on a labeled line says the label left training, the bar and counts show it, and Backspace brings it back', async () => {
    const position = view.locator('#position');
    await position.filter({ hasText: /^line 1$/ }).waitFor();
    await view.locator('#progress-text', { hasText: /^100% decided$/ }).waitFor();
    await view.locator('#pair').focus();
    await page.keyboard.press('t');
    await position.filter({ hasText: /^line 2$/ }).waitFor();
    await view.locator('#notice', { hasText: 'Line 1 was labeled; now a tie, so it is left out of training. Backspace undoes.' }).waitFor();
    await view.locator('#counts', { hasText: '299 labeled (all as the file came) · 1 tie · 0 skipped · 0 left' }).waitFor({ timeout: 30_000 });
    await view.locator('#progress-text', { hasText: /^100% decided · 1 left out of training$/ }).waitFor();
    assert.match((await view.locator('#progress').getAttribute('aria-valuetext')) ?? '', /300 of 300 decided, 299 of them for training/);
    // The striped part of the bar (left out of training) is there, and the notes wrap rather than run off the side.
    assert.ok((await view.locator('#progress-held').evaluate((e) => e.getBoundingClientRect().width)) > 0, 'the tie shows in the bar');
    for (const width of [700, 1600]) {
      await page.setViewportSize({ width, height: 900 });
      await view.locator('#notice').waitFor();
      const overflow = await view.locator('body').evaluate((e) => e.ownerDocument.documentElement.scrollWidth - e.ownerDocument.documentElement.clientWidth);
      assert.ok(overflow <= 0, `at ${width} px the page is ${overflow} px wider than its view`);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `labeling-tie-notice-${width}.png`) });
    }
    await page.keyboard.press('Backspace');
    await position.filter({ hasText: /^line 1$/ }).waitFor();
    await view.locator('#counts', { hasText: '300 labeled (all as the file came) · 0 tie' }).waitFor({ timeout: 30_000 });
    await view.locator('#progress-text', { hasText: /^100% decided$/ }).waitFor();
    assert.equal((await view.locator('#notice').innerText()).trim(), '');
  });

  it('E focuses the text box: typed text goes into it, Escape cancels, Ctrl+Enter saves', async () => {
    await view.locator('#pair').focus();
    await page.keyboard.press('e');
    const box = view.locator('#edit-left textarea');
    await box.waitFor();
    await page.keyboard.type(' Typed here.');
    assert.match(await box.inputValue(), /Typed here\./);
    await page.keyboard.press('Escape');
    await box.waitFor({ state: 'detached' });
    assert.doesNotMatch(await view.locator('#left').innerText(), /Typed here/, 'Escape dropped the edit');
    await page.keyboard.press('e');
    await box.waitFor();
    await page.keyboard.press('End');
    await page.keyboard.type(' Edited.');
    await page.keyboard.press('Control+Enter');
    await view.locator('#left .text', { hasText: 'Edited.' }).waitFor({ timeout: 30_000 });
    // And the keys work again: the pair, not the text box, has them.
    await page.keyboard.press('j');
    await view
      .locator('#position')
      .filter({ hasText: /^line 2$/ })
      .waitFor();
  });
});
