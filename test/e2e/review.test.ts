// The data loop in a real VS Code (code-server in headless Chromium): DPO: Review Suspicious Pairs on
// a tiny trained run turns the labeling editor already open on its data into a queue of the flagged
// pairs in `dpo triage` order, each card saying why; a flip is written to the file with annotator
// and time; no label_smoothing is offered on a few decisions; V shows the tokens of a chat pair.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, pickRow, runCommand, startWorkbench } from './helpers';
import { openInLabelEditor } from './panels';
import { blindSwap } from '../../src/extension/labeling/pair-line';
import { wilsonInterval } from '../../src/extension/labeling/review-estimate';
import { suspicionText } from '../../webview/labeling/view-text';

const SHOTS = process.env.DPO_SCREENSHOTS;
const msg = (role: string, content: string) => [{ role, content }];
const PAIRS = [
  ['Hi!', 'Hello! How can I help?', 'What.'],
  ['Name a colour.', 'Blue.', 'Seven.'],
  ['2+2?', '4', '5'],
  ['Capital of France?', 'Paris.', 'Lyon.'],
  ['Say thanks.', 'Thank you!', 'No.'],
  ['Greet me.', 'Good morning!', 'Go away.'],
].map(([p, c, r]) => ({ prompt: msg('user', p), chosen: msg('assistant', c), rejected: msg('assistant', r) }));
/** The file reviewed: the training pairs with the first four labels turned the wrong way round after training, so the model flags those four. */
const FLIPPED = 4;
const FILE = PAIRS.map((p, i) => (i < FLIPPED ? { ...p, chosen: p.rejected, rejected: p.chosen } : p));

/** The webview whose document holds `text` (the labeling editor and the preview are both visible). */
async function webviewWith(page: Page, selector: string): Promise<FrameLocator> {
  for (let tries = 0; tries < 60; tries++) {
    const n = await page.locator('iframe.webview.ready').count();
    for (let i = 0; i < n; i++) {
      const f = page.frameLocator('iframe.webview.ready').nth(i).frameLocator('#active-frame');
      if ((await f.locator(selector).count()) > 0) return f;
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`no webview shows ${selector}`);
}

/** The lines of `file` once a save has written it whole (holding `mark`): the tab's dirty dot can clear before the write ends. */
async function savedLines(file: string, mark: string): Promise<Record<string, unknown>[]> {
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 200))) {
    const text = fs.readFileSync(file, 'utf8');
    try {
      if (text.includes(mark))
        return text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${file} never held ${mark}: ${text.slice(0, 200)}`);
  }
}

describe('review queue and token preview in a real VS Code', { timeout: 300_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  const logs: string[] = [];
  const data = () => path.join(workspace, 'pairs.jsonl');

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-review-'));
    fs.writeFileSync(data(), PAIRS.map((p) => JSON.stringify(p)).join('\n') + '\n');
    fs.mkdirSync(path.join(workspace, '.vscode'));
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dpo.labeling.annotator': 'reviewer' }));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '128');
    dpo(
      'train',
      '--model',
      path.join(workspace, 'models', 'tiny'),
      '--data',
      data(),
      '--out',
      path.join(workspace, '.dpo', 'runs', 'review-run'),
      '--max-steps',
      '3',
      '--batch-size',
      '2',
      '--learning-rate',
      '0.01',
      '--eval-fraction',
      '0',
      '--max-length',
      '96',
    );
    fs.writeFileSync(data(), FILE.map((p) => JSON.stringify(p)).join('\n') + '\n');
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT, onLog: (_t, text) => logs.push(text) }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('turns the open labeling editor into a queue of the flagged pairs in triage order, and a flip (2) is written with annotator and time', async () => {
    // The file is open in the labeling editor first: the review must come to it.
    const view = await openInLabelEditor(page, 'pairs.jsonl');
    const position = view.locator('#position');
    await position.filter({ hasText: /^line 1$/ }).waitFor();
    await runCommand(page, 'DPO: Review Suspicious Pairs');
    await pickRow(page, 'review-run', 'DPO: Review Suspicious Pairs');
    const counts = view.locator('#counts');
    await counts.filter({ hasText: /^review: / }).waitFor({ timeout: 120_000 });
    const triage = path.join(workspace, '.dpo', 'runs', 'review-run', 'triage-final.jsonl');
    const rows = fs
      .readFileSync(triage, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; margin: number });
    assert.equal(rows.length, PAIRS.length, 'every pair scored');
    // The queue: the flagged pairs (negative margin), not the whole file.
    const order = rows.filter((r) => r.margin < 0).map((r) => r.line);
    assert.deepEqual([...order].sort(), [1, 2, 3, 4], 'the four labels turned round are the ones flagged');
    await position.filter({ hasText: new RegExp(`^line ${order[0]}$`) }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.tab', { hasText: 'pairs.jsonl' }).count(), 1, 'the open editor took the review; no second one');
    // The card says why the pair is here; the buttons say what they do.
    assert.equal((await view.locator('#suspicion').innerText()).trim(), suspicionText({ margin: rows[0].margin, rank: 1, of: PAIRS.length }));
    assert.equal((await view.locator('#choose-left').innerText()).trim(), '1 · Confirm');
    assert.equal((await view.locator('#choose-right').innerText()).trim(), '2 · Flip');
    // The header counts the review, not the file (whose every line is already labeled).
    await counts.filter({ hasText: /^review: 0 of 4 confirmed or flipped · 0%$/ }).waitFor({ timeout: 30_000 });
    await view.locator('#pair').focus();
    assert.equal(await view.locator('#progress').getAttribute('aria-valuenow'), '0');
    await page.keyboard.press('ArrowRight');
    await position.filter({ hasText: new RegExp(`^line ${order[1]}$`) }).waitFor();
    await page.keyboard.press('1'); // confirm the second pair of the queue
    await position.filter({ hasText: new RegExp(`^line ${order[2]}$`) }).waitFor();
    await counts.filter({ hasText: /^review: 1 of 4 confirmed or flipped · 25%$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('#progress').getAttribute('aria-valuenow'), '25');
    assert.equal(await view.locator('#progress-text').innerText(), '25%');
    await page.keyboard.press('2'); // flip the third
    await position.filter({ hasText: new RegExp(`^line ${order[3]}$`) }).waitFor();
    await counts.filter({ hasText: /^review: 2 of 4 confirmed or flipped · 50%$/ }).waitFor({ timeout: 30_000 });
    // Backspace undoes the flip, and the review no longer counts it; flipped again, it does.
    await page.keyboard.press('Backspace');
    await position.filter({ hasText: new RegExp(`^line ${order[2]}$`) }).waitFor();
    await counts.filter({ hasText: /^review: 1 of 4 confirmed or flipped · 25%$/ }).waitFor({ timeout: 30_000 });
    await page.keyboard.press('2');
    await position.filter({ hasText: new RegExp(`^line ${order[3]}$`) }).waitFor();
    await counts.filter({ hasText: /^review: 2 of 4 confirmed or flipped · 50%$/ }).waitFor({ timeout: 30_000 });
    // The flip rate with its interval, and no label_smoothing on two decisions.
    const w = wilsonInterval(1, 2);
    await page
      .locator('.statusbar-item', {
        hasText: `Review: 1 flipped, 1 confirmed of 2/4 · flip rate 50% (${Math.round(w.low * 100)}–${Math.round(w.high * 100)}%)`,
      })
      .waitFor({ timeout: 30_000 });
    await runCommand(page, 'DPO: Write Run Config for the Reviewed Noise Rate');
    await page.locator('.notifications-toasts', { hasText: 'this queue holds 4, too few to estimate the rate' }).waitFor({ timeout: 30_000 });
    assert.equal(fs.existsSync(path.join(workspace, 'review-run-cdpo.config.json')), false, 'no config written');
    await view.locator('#pair').focus();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'review-queue.png') });
    await runCommand(page, 'File: Save');
    await page.locator('.tab.active:not(.dirty)', { hasText: 'pairs.jsonl' }).waitFor({ timeout: 30_000 });
    const lines = await savedLines(data(), 'reviewer');
    const flipped = lines[order[2] - 1];
    const original = FILE[order[2] - 1];
    assert.deepEqual([flipped.chosen, flipped.rejected, flipped.label, flipped.annotator], [original.rejected, original.chosen, 'b', 'reviewer']);
    assert.match(String(flipped.labeled_at), /^\d{4}-\d{2}-\d{2}T/);
    const confirmed = lines[order[1] - 1];
    assert.deepEqual([confirmed.chosen, confirmed.label], [FILE[order[1] - 1].chosen, 'a']);
    for (const l of [...order.slice(3), 5, 6]) assert.deepEqual(lines[l - 1], FILE[l - 1], `line ${l} was not reviewed`);
  });

  it('review follows the blind setting: each pair in its seeded left/right order, not chosen-left (no position bias)', async () => {
    const view = activeWebview(page);
    const order = fs
      .readFileSync(path.join(workspace, '.dpo', 'runs', 'review-run', 'triage-final.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; margin: number })
      .filter((r) => r.margin < 0)
      .map((r) => r.line);
    const swapped = order.map((l) => blindSwap(0, l));
    assert.ok(swapped.includes(true) && swapped.includes(false), 'seed 0 swaps some of the queued lines and not others');
    const position = view.locator('#position');
    // Without blind mode the file's chosen response is on the left, labeled (a).
    await view.locator('#left h2', { hasText: '(a)' }).waitFor();
    await view.locator('#blind').click();
    await view.locator('#blind[aria-pressed="true"]', { hasText: 'Blind: on' }).waitFor();
    await view.locator('#pair').focus();
    for (let back = 0; back < order.length && !(await position.innerText()).endsWith(` ${order[0]}`); back++) await page.keyboard.press('k');
    const lines = fs.readFileSync(data(), 'utf8').trim().split('\n');
    for (const [i, line] of order.entries()) {
      await position.filter({ hasText: new RegExp(`^line ${line}$`) }).waitFor();
      const pair = JSON.parse(lines[line - 1]);
      // a and b in file order: "responses" once a line was decided here (kept in its original order), else chosen/rejected.
      const [a, b] = pair.responses ?? [pair.chosen, pair.rejected];
      const left = (swapped[i] ? b : a)[0].content as string;
      await view
        .locator('#left h2')
        .filter({ hasText: /^1 · left$/i })
        .waitFor();
      // The message block: its role, then its text.
      assert.equal((await view.locator('#left .text .message > div:last-child').innerText()).trim(), left, `line ${line} (swapped: ${swapped[i]})`);
      if (i + 1 < order.length) await page.keyboard.press('j');
    }
    await view.locator('#blind').click();
    await view.locator('#blind[aria-pressed="false"]').waitFor();
  });

  it('V shows the tokens of a chat-format pair: the prompt masked, the response trained, EOS marked', async () => {
    const view = activeWebview(page);
    await view.locator('#pair').focus();
    await page.keyboard.press('v');
    const preview = await webviewWith(page, '.side[data-side="chosen"]');
    const prompt = await preview.locator('.side[data-side="chosen"] .tok.prompt').allInnerTexts();
    const response = await preview.locator('.side[data-side="chosen"] .tok.response').allInnerTexts();
    assert.ok(prompt.join('').startsWith('<|im_start|>user'), prompt.join(''));
    assert.ok(prompt.join('').endsWith('<|im_start|>assistant\\n'), prompt.join(''));
    assert.ok(response.join('').includes('<|im_end|>'), response.join(''));
    assert.match(
      await preview.locator('.side[data-side="chosen"] .counts').innerText(),
      /prompt \d+\/\d+ tokens \(masked\) · response \d+\/\d+ tokens \(trained\)/,
    );
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'token-preview.png') });
  });
});
