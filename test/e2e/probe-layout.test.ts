// The probe panel at 1600 and 700 px in Dark Modern and Light Modern, in a real VS Code (code-server
// in headless Chromium): both answer columns and the pair picker stay inside the panel, the header
// names the run and models (full paths on hover and in a disclosure), a pair from the data shows no
// "answer is better" buttons, and a piece of a multi-byte character names that character.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, runCommand, setTheme, startWorkbench } from './helpers';
import { axeViolations, describeViolations, serious, showPanel } from './panels';

const SHOTS = process.env.DPO_SCREENSHOTS;
const RUN = 'layout-run';
/** A pair whose answers hold 2-, 3- and 4-byte characters, one byte-level token per byte. */
const WIDE = { prompt: 'Q: Say café.\nA:', chosen: ' café — naïve 😀', rejected: ' cafe' };

/** Where an element's box ends on the right, and how wide the document's viewport is. */
type Box = { right: number; width: number; client: number; scroll: number };
const boxOf = (view: FrameLocator, selector: string): Promise<Box> =>
  view.locator(selector).evaluate((e) => {
    const d = (e as unknown as { ownerDocument: { documentElement: { clientWidth: number; scrollWidth: number } } }).ownerDocument.documentElement;
    const r = (e as unknown as { getBoundingClientRect(): { right: number; width: number } }).getBoundingClientRect();
    return { right: r.right, width: r.width, client: d.clientWidth, scroll: d.scrollWidth };
  });

describe('probe panel layout at 1600 and 700 px, and on a pair from the data', { timeout: 480_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  let project: string;
  let view: FrameLocator;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-probe-layout-'));
    // A deep project folder: the header must not spell out paths this long.
    project = path.join(workspace, 'projects', 'a-project-folder-with-a-rather-long-name');
    fs.mkdirSync(project, { recursive: true });
    const data = path.join(project, 'preferences.jsonl');
    fs.writeFileSync(data, JSON.stringify(WIDE) + '\n' + fs.readFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), 'utf8'));
    const model = path.join(project, 'models', 'tiny-reference-model');
    dpo('make-tiny-model', '--out', model, '--max-positions', '128');
    const run = path.join(project, '.dpo', 'runs', RUN);
    dpo('train', '--model', model, '--data', data, '--out', run, '--max-steps', '2', '--batch-size', '4', '--max-length', '96', '--eval-fraction', '0');
    ({ page, close } = await startWorkbench({ folder: project, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await runCommand(page, 'DPO: Probe Model');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: RUN }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    view = activeWebview(page);
    await view.locator('#models').filter({ hasText: RUN }).waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('names the run and the models in the header; the full paths are on hover and in a disclosure', async () => {
    const header = await view.locator('#models').innerText();
    assert.match(header, new RegExp(`^${RUN}/final vs tiny-reference-model · β 0\\.1`));
    assert.ok(!header.includes(workspace), `no absolute path in the header: ${header}`);
    const policyDir = path.join(project, '.dpo', 'runs', RUN, 'final');
    const referenceDir = path.join(project, 'models', 'tiny-reference-model');
    const title = await view.locator('#model-names').getAttribute('title');
    assert.equal(title, `policy: ${policyDir}\nreference: ${referenceDir}`);
    await view.locator('#model-paths summary').click();
    assert.equal(await view.locator('#policy-path').innerText(), policyDir);
    assert.equal(await view.locator('#reference-path').innerText(), referenceDir);
    await view.locator('#model-paths summary').click();
  });

  it('a pair from the data: no "answer is better" buttons, and pieces of a character name it', async () => {
    // Before any pair: the buttons are there (disabled until both answers are generated).
    assert.ok(await view.locator('#promote-policy').isVisible());
    await view.locator('#data-pair').evaluate((el) => {
      (el as unknown as { value: string }).value = '1';
      el.dispatchEvent(new Event('change'));
    });
    await view.locator('#title-policy', { hasText: 'chosen (line 1)' }).waitFor();
    await view.locator('#summary', { hasText: 'margin' }).waitFor({ timeout: 60_000 });
    for (const w of ['policy', 'reference']) assert.equal(await view.locator(`#promote-${w}`).isVisible(), false, `${w}: the promote button is hidden`);
    // The answer's tokens join to its text: each character shown once, whole.
    assert.equal((await view.locator('#text-policy .token').allInnerTexts()).join(''), WIDE.chosen);
    // " café": é is two byte tokens; the first names é and its bytes, the second shows it.
    const piece = view.locator('#text-policy .token[data-part-of="é"]');
    assert.equal(await piece.count(), 1);
    await piece.hover();
    await view.locator('#token-tip', { hasText: 'token ▯ part of "é" (bytes C3 A9)' }).waitFor({ state: 'visible' });
    assert.equal(await view.locator('#text-policy .token[data-part-of="😀"]').count(), 3, 'a 4-byte character: three pieces, then the token that ends it');
    assert.equal(await view.locator('#text-policy .token[data-part-of="—"]').count(), 2);
  });

  for (const [theme, dark] of [
    ['Dark Modern', true],
    ['Light Modern', false],
  ] as const) {
    it(`fits the panel at 1600 and 700 px in ${theme}: both columns and the pair picker inside, axe-clean`, async () => {
      await setTheme(page, theme, dark);
      const frame = await showPanel(page, /^Probe: /, '#models');
      for (const width of [1600, 700]) {
        await page.setViewportSize({ width, height: 1000 });
        await page.waitForTimeout(300);
        const ref = await boxOf(view, '#answer-reference');
        assert.ok(ref.scroll <= ref.client, `at ${width} px nothing runs off the side (${ref.scroll - ref.client} px too wide)`);
        assert.ok(ref.right <= ref.client, `at ${width} px the reference column ends at ${ref.right}, inside ${ref.client}`);
        const pick = await boxOf(view, '#data-pair');
        assert.ok(pick.right <= pick.client, `at ${width} px the pair picker ends at ${pick.right}, inside ${pick.client}`);
        assert.ok(pick.width >= 160, `at ${width} px the pair picker keeps room to read (${pick.width} px)`);
        const models = await boxOf(view, '#models');
        assert.ok(models.right <= models.client, `at ${width} px the header ends at ${models.right}, inside ${models.client}`);
        const found = await axeViolations(frame);
        assert.deepEqual(serious(found), [], describeViolations(serious(found)));
        if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `probe-${dark ? 'dark' : 'light'}-${width}.png`) });
      }
      await page.setViewportSize({ width: 1400, height: 900 });
    });
  }
});
