// The labeling editor in a real VS Code (code-server in headless Chromium): open an unlabeled file
// with DPO: Label Pairs, label with keys (choose, tie, skip, undo, edit), save, and check the file
// on disk line by line; bad lines in Problems; unsaved labels after the server is killed.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, runCommand, startWorkbench } from './helpers';
import { openInLabelEditor } from './panels';
import { parsePreferences } from '../../src/engine/data/preferences';
import { blindSwap } from '../../src/extension/labeling/pair-line';

const SHOTS = process.env.DPO_SCREENSHOTS;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const UNLABELED = [
  '{"id": 12345678901234567890, "prompt": "Write a haiku about rain.", "responses": ["Soft rain on the roof", "Rain is water that falls."], "meta": {"source": "demo", "score": 1.50}}',
  '{"prompt": "Show a Python loop.", "responses": ["```python\\nfor i in range(3):\\n    print(i)\\n```", "Use a loop."], "id": 2}',
  JSON.stringify({
    prompt: [{ role: 'user', content: 'Hi!' }],
    responses: [[{ role: 'assistant', content: 'Hello! How can I help?' }], [{ role: 'assistant', content: 'What.' }]],
  }),
  '{"prompt": "2+2?", "responses": ["4", "5"]}',
  '{"prompt": "Capital of France?", "responses": ["Paris", "Lyon"]}',
  '',
  '{"prompt": "Name a colour.", "responses": ["Blue", "Seven"]}',
];

const BAD = [
  '{"prompt": "ok", "responses": ["yes", "no"]}',
  '{"prompt": "broken", "responses": ["a", "b"]',
  '{"prompt": "same", "responses": ["x", "x"]}',
  '{"responses": ["a", "b"]}',
  '{"prompt": "empty", "responses": ["", "b"]}',
];

/** `"label": "a"` or "b" as a line holds it, or escaped inside a JSON string (a custom editor's backup). */
const LABEL = /\\?"label\\?"\s*:\s*\\?"[ab]\\?"/g;
const labelCount = (text: string) => (text.match(LABEL) ?? []).length;

/**
 * Resolves once the hot-exit backup of `name` under `backups` (the server's User/Backups) holds
 * `labels` labels: a text document's backup holds the text; a custom editor's holds the id of the
 * extension's own backup file, whose content must hold them. Polled: no event reaches the test, and
 * a backup of an earlier edit must not count.
 */
async function waitForBackup(backups: string, name: string, labels: number, timeoutMs = 120_000): Promise<void> {
  const files = (d: string): string[] =>
    fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
  const complete = (file: string) => {
    const text = fs.readFileSync(file, 'utf8');
    if (!text.includes(name)) return false;
    if (labelCount(text) >= labels) return true;
    const id = /"backupId":"([^"]+)"/.exec(text)?.[1];
    const own = id ? decodeURIComponent(new URL(id).pathname) : undefined;
    return own !== undefined && fs.existsSync(own) && labelCount(fs.readFileSync(own, 'utf8')) >= labels;
  };
  const deadline = Date.now() + timeoutMs;
  while (!files(backups).some(complete)) {
    if (Date.now() > deadline) throw new Error(`no backup of ${name} with ${labels} labels under ${backups} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('labeling editor in a real VS Code', { timeout: 600_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  const logs: string[] = [];

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-label-'));
    fs.writeFileSync(path.join(workspace, 'pairs.jsonl'), UNLABELED.join('\n') + '\n');
    fs.writeFileSync(path.join(workspace, 'bad.jsonl'), BAD.join('\n') + '\n');
    fs.writeFileSync(path.join(workspace, 'pairs.guidelines.md'), '# Guidelines\n\nPrefer the **correct** answer.\n');
    fs.mkdirSync(path.join(workspace, '.vscode'));
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dpo.labeling.annotator': 'tester' }));
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT, onLog: (_t, text) => logs.push(text) }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('labels with keys (choose, tie, skip, undo, edit), saves, and writes exactly those lines', async () => {
    const view = await openInLabelEditor(page, 'pairs.jsonl');
    const kind = view.locator('#kind');
    const position = view.locator('#position');
    await position.filter({ hasText: 'line 1' }).waitFor();
    assert.equal(await kind.innerText(), 'to label');
    await view.locator('.text', { hasText: 'Soft rain on the roof' }).waitFor();
    await view.locator('#counts', { hasText: '0 labeled · 0 tie · 0 skipped · 6 left' }).waitFor({ timeout: 30_000 });
    await view.locator('#toggle-guidelines[aria-expanded="false"]').click();
    await view.locator('#guidelines strong', { hasText: 'correct' }).waitFor();
    await view.locator('#toggle-guidelines[aria-expanded="true"]').waitFor();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'labeling-start.png') });

    await view.locator('#pair').focus();
    await page.keyboard.press('1'); // line 1: a
    await position.filter({ hasText: 'line 2' }).waitFor();
    await view.locator('.text pre code', { hasText: 'for i in range(3):' }).waitFor(); // markdown code block
    // One block, not a stripe per line: an inline <code> has one box per line, a block one.
    assert.equal(await view.locator('.text pre code').evaluate((e) => e.getClientRects().length), 1);
    await page.keyboard.press('2'); // line 2: b
    await position.filter({ hasText: 'line 3' }).waitFor();
    await view.locator('.message .role', { hasText: 'assistant' }).first().waitFor(); // a chat list
    await page.keyboard.press('t'); // line 3: tie
    await position.filter({ hasText: 'line 4' }).waitFor();
    await page.keyboard.press('s'); // line 4: skip
    await position.filter({ hasText: 'line 5' }).waitFor();
    await view.locator('#counts', { hasText: '2 labeled · 1 tie · 1 skipped · 2 left' }).waitFor({ timeout: 30_000 });
    await page.keyboard.press('Backspace'); // undo the skip: back on line 4, to label again
    await position.filter({ hasText: 'line 4' }).waitFor();
    await kind.filter({ hasText: 'to label' }).waitFor();
    await page.keyboard.press('e');
    const edit = view.locator('#edit-left textarea');
    await edit.waitFor();
    await edit.fill('4, since two plus two is four.');
    await page.keyboard.press('Control+Enter');
    await view.locator('.text', { hasText: 'since two plus two is four' }).waitFor({ timeout: 30_000 });
    await view.locator('#pair').focus();
    await page.keyboard.press('a'); // line 4: a (the edited response)
    await position.filter({ hasText: 'line 5' }).waitFor();
    await page.keyboard.press('j'); // move without labeling: line 7 (6 is blank)
    await position.filter({ hasText: 'line 7' }).waitFor();
    await page.keyboard.press('k');
    await position.filter({ hasText: 'line 5' }).waitFor();
    // The help takes focus, keeps Tab inside, and gives focus back where it was.
    await page.keyboard.press('?');
    await view.locator('#help').waitFor({ state: 'visible' });
    await view.locator('#help-dialog:focus').waitFor();
    await page.keyboard.press('Tab');
    await view.locator('#help-close:focus').waitFor();
    await page.keyboard.press('Escape');
    await view.locator('#help').waitFor({ state: 'hidden' });
    await view.locator('#pair:focus').waitFor();
    await view.locator('#help-button').click();
    await view.locator('#help-dialog:focus').waitFor();
    await view.locator('#help-close').click();
    await view.locator('#help-button:focus').waitFor();
    await view.locator('#pair').focus();
    await view.locator('#counts', { hasText: '3 labeled · 1 tie · 0 skipped · 2 left' }).waitFor({ timeout: 30_000 });
    const slowest = Number(await view.locator('body').getAttribute('data-slowest-key-ms'));
    assert.ok(slowest < 16, `slowest key took ${slowest} ms`);
    await page.locator('.tab.active.dirty', { hasText: 'pairs.jsonl' }).waitFor({ timeout: 30_000 });
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'labeling-labeled.png') });

    await runCommand(page, 'File: Save');
    await page.locator('.tab.active:not(.dirty)', { hasText: 'pairs.jsonl' }).waitFor({ timeout: 30_000 });
    const lines = fs.readFileSync(path.join(workspace, 'pairs.jsonl'), 'utf8').split('\n');
    assert.equal(lines.length, UNLABELED.length + 1, 'no line added or removed');
    const obj = lines.map((l) => (l ? JSON.parse(l) : undefined));
    // Line 1: a; its unknown fields keep their exact text (a big integer, "1.50").
    assert.ok(lines[0].startsWith('{"id": 12345678901234567890, "prompt": "Write a haiku about rain.", "responses": '), lines[0]);
    assert.ok(lines[0].includes('"meta": {"source": "demo", "score": 1.50}'), lines[0]);
    assert.deepEqual([obj[0].chosen, obj[0].rejected, obj[0].label, obj[0].annotator], ['Soft rain on the roof', 'Rain is water that falls.', 'a', 'tester']);
    assert.match(obj[0].labeled_at, ISO);
    assert.deepEqual([obj[1].chosen, obj[1].rejected, obj[1].label, obj[1].id], ['Use a loop.', obj[1].responses[0], 'b', 2]);
    assert.deepEqual([obj[2].label, 'chosen' in obj[2], 'rejected' in obj[2]], ['tie', false, false]);
    assert.deepEqual(obj[3].responses, ['4, since two plus two is four.', '5']);
    assert.deepEqual([obj[3].chosen, obj[3].rejected, obj[3].label], ['4, since two plus two is four.', '5', 'a']);
    assert.equal(lines[4], UNLABELED[4], 'a line only looked at is untouched');
    assert.equal(lines[5], '');
    assert.equal(lines[6], UNLABELED[6]);
    // What the trainer makes of it: three pairs, the tie left out, the rest still to label.
    const read = parsePreferences(lines.join('\n'), 'pairs.jsonl');
    assert.deepEqual(
      read.pairs.map((p) => p.line),
      [1, 2, 4],
    );
    assert.deepEqual(read.excluded, [3]);
    assert.deepEqual(
      read.problems.map((p) => p.line),
      [5, 7],
    );
  });

  it('shows the unusable lines of a file in Problems, and labels the rest', async () => {
    const view = await openInLabelEditor(page, 'bad.jsonl');
    await view.locator('#counts', { hasText: '4 with problems' }).waitFor({ timeout: 30_000 });
    await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
    const rows = page.locator('.markers-panel .monaco-tl-row');
    await rows.filter({ hasText: 'not valid JSON' }).first().waitFor({ timeout: 30_000 });
    const text = (await rows.allInnerTexts()).join('\n');
    for (const [line, message] of [
      [2, 'not valid JSON'],
      [3, 'identical'],
      [4, 'prompt: missing'],
      [5, 'empty response'],
    ] as const) {
      assert.match(text, new RegExp(`${message}[^[]*\\[Ln ${line},`), `line ${line}: ${message}\n${text}`);
    }
    // The bad lines are shown (not dropped), and 'p' walks to them; the good line is labeled.
    await page.locator('.tab.active', { hasText: 'bad.jsonl' }).click();
    await view.locator('#position', { hasText: 'line 1' }).waitFor();
    await view.locator('#pair').focus();
    await page.keyboard.press('p');
    await view.locator('#position', { hasText: 'line 2' }).waitFor();
    await view.locator('#problems', { hasText: 'not valid JSON' }).waitFor();
    await view.locator('.raw', { hasText: '"prompt": "broken"' }).waitFor();
    await page.keyboard.press('k');
    await view.locator('#position', { hasText: 'line 1' }).waitFor();
    await page.keyboard.press('1');
    await view.locator('#counts', { hasText: '1 labeled' }).waitFor({ timeout: 30_000 });
    await runCommand(page, 'File: Save');
    await page.locator('.tab.active:not(.dirty)', { hasText: 'bad.jsonl' }).waitFor({ timeout: 30_000 });
    const lines = fs.readFileSync(path.join(workspace, 'bad.jsonl'), 'utf8').split('\n');
    assert.equal(JSON.parse(lines[0]).label, 'a');
    assert.deepEqual(lines.slice(1, BAD.length), BAD.slice(1), 'bad lines are never rewritten');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'labeling-problems.png') });
  });

  it('blind mode shows a seeded left/right order, hides labels, and writes the choice in file order', async () => {
    const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `q${i}`, responses: [`first ${i}`, `second ${i}`] }));
    fs.writeFileSync(path.join(workspace, 'blind.jsonl'), lines.join('\n') + '\n');
    const swapped = Array.from({ length: 8 }, (_, i) => blindSwap(0, i + 1));
    const target = swapped.indexOf(true) + 1; // the first line blind mode shows with b on the left
    assert.ok(target > 0 && swapped.includes(false), 'seed 0 swaps some of 8 lines and not others');
    const view = await openInLabelEditor(page, 'blind.jsonl');
    await view.locator('#blind').click();
    await view.locator('#blind', { hasText: 'Blind: on' }).waitFor();
    for (let line = 1; line <= 8; line++) {
      await view.locator('#position', { hasText: `line ${line}` }).waitFor();
      const i = line - 1;
      await view.locator('#left .text', { hasText: swapped[i] ? `second ${i}` : `first ${i}` }).waitFor();
      assert.equal(await view.locator('#left h2').innerText(), '1 · LEFT', 'no a/b letters in blind mode');
      if (line === target) break;
      await view.locator('#pair').focus();
      await page.keyboard.press('j');
    }
    await view.locator('#pair').focus();
    await page.keyboard.press('1'); // the left one, which is b on this line
    await view.locator('#position', { hasText: `line ${target + 1}` }).waitFor();
    await page.keyboard.press('k');
    await view.locator('#kind', { hasText: 'decided' }).waitFor();
    assert.equal(await view.locator('.response.chosen').count(), 0, 'the choice is not shown in blind mode');
    await runCommand(page, 'File: Save');
    await page.locator('.tab.active:not(.dirty)', { hasText: 'blind.jsonl' }).waitFor({ timeout: 30_000 });
    const saved = JSON.parse(fs.readFileSync(path.join(workspace, 'blind.jsonl'), 'utf8').split('\n')[target - 1]);
    assert.deepEqual([saved.label, saved.chosen, saved.rejected], ['b', `second ${target - 1}`, `first ${target - 1}`]);
    await view.locator('#blind').click();
    await view.locator('#kind', { hasText: 'labeled' }).waitFor();
    await runCommand(page, 'View: Close All Editors');
  });

  it('a file over dpo.labeling.largeFileThresholdMB opens in the editor that reads from disk: keys, Ctrl+Z, save', async () => {
    const lines = Array.from({ length: 6000 }, (_, i) =>
      JSON.stringify({ id: i, prompt: `p${i} `.padEnd(400, 'x'), responses: [`a${i} `.padEnd(300, 'y'), `b${i} `.padEnd(300, 'z')] }),
    );
    const original = lines.join('\n') + '\n';
    fs.writeFileSync(path.join(workspace, 'big.jsonl'), original);
    assert.ok(original.length > 5 * 1024 * 1024);
    const view = await openInLabelEditor(page, 'big.jsonl');
    await page.locator('.tab.active', { hasText: 'big.jsonl' }).waitFor();
    await view.locator('#counts', { hasText: '0 labeled · 0 tie · 0 skipped · 6,000 left' }).waitFor({ timeout: 60_000 });
    await view.locator('#pair').focus();
    await page.keyboard.press('1');
    await view.locator('#position', { hasText: 'line 2' }).waitFor();
    await page.keyboard.press('2');
    await view.locator('#counts', { hasText: '2 labeled' }).waitFor({ timeout: 30_000 });
    await page.locator('.tab.active.dirty', { hasText: 'big.jsonl' }).waitFor({ timeout: 30_000 });
    await page.keyboard.press('Control+z'); // VS Code's undo: the custom document's last edit (line 2)
    await view.locator('#counts', { hasText: '1 labeled · 0 tie · 0 skipped · 5,999 left' }).waitFor({ timeout: 30_000 });
    assert.equal(fs.readFileSync(path.join(workspace, 'big.jsonl'), 'utf8'), original, 'nothing is written before save');
    await runCommand(page, 'File: Save');
    await page.locator('.tab.active:not(.dirty)', { hasText: 'big.jsonl' }).waitFor({ timeout: 30_000 });
    const saved = fs.readFileSync(path.join(workspace, 'big.jsonl'), 'utf8').split('\n');
    assert.equal(saved.length, lines.length + 1);
    assert.deepEqual([JSON.parse(saved[0]).label, JSON.parse(saved[0]).chosen], ['a', JSON.parse(lines[0]).responses[0]]);
    assert.equal(saved[1], lines[1], 'the undone decision left line 2 as it was');
    assert.deepEqual(saved.slice(2), [...lines.slice(2), ''], 'every other line unchanged');
    await runCommand(page, 'View: Close All Editors');
  });

  for (const [editor, threshold] of [
    ['text-document editor', 5],
    ['large-file editor', 0],
  ] as const) {
    it(`${editor}: keeps unsaved labels when the VS Code server is killed (hot exit), and never touches the saved file`, async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-hot-'));
      const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-hot-user-'));
      const browserProfile = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-hot-browser-'));
      const original = UNLABELED.slice(0, 5).join('\n') + '\n';
      fs.writeFileSync(path.join(folder, 'hot.jsonl'), original);
      // VS Code in a browser auto-saves after a second by default; desktop VS Code does not. Turn it
      // off so that the labels are unsaved when the server dies, as on the desktop.
      fs.mkdirSync(path.join(folder, '.vscode'));
      fs.writeFileSync(
        path.join(folder, '.vscode', 'settings.json'),
        JSON.stringify({ 'files.autoSave': 'off', 'dpo.labeling.largeFileThresholdMB': threshold }),
      );
      const first = await startWorkbench({ folder, dev: ROOT, userData, browserProfile, onLog: (_t, text) => logs.push(text) });
      try {
        await first.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
        const view = await openInLabelEditor(first.page, 'hot.jsonl');
        await view.locator('#pair').focus();
        await first.page.keyboard.press('1');
        await view.locator('#position', { hasText: 'line 2' }).waitFor();
        await first.page.keyboard.press('2');
        await view.locator('#counts', { hasText: '2 labeled' }).waitFor({ timeout: 30_000 });
        await first.page.locator('.tab.active.dirty', { hasText: 'hot.jsonl' }).waitFor({ timeout: 30_000 });
        // VS Code backs up a dirty document about a second after the last change, into the server's
        // user data (User/Backups); wait for that backup rather than a fixed time.
        await waitForBackup(path.join(userData, 'User', 'Backups'), 'hot.jsonl', 2);
      } finally {
        await first.kill();
      }
      assert.equal(fs.readFileSync(path.join(folder, 'hot.jsonl'), 'utf8'), original, 'the file on disk is what was last saved');
      const second = await startWorkbench({ folder, dev: ROOT, userData, browserProfile, port: first.port, onLog: (_t, text) => logs.push(text) });
      try {
        await second.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
        const view = await openInLabelEditor(second.page, 'hot.jsonl');
        await view.locator('#counts', { hasText: '2 labeled · 0 tie · 0 skipped · 3 left' }).waitFor({ timeout: 30_000 });
        await second.page.locator('.tab.active.dirty', { hasText: 'hot.jsonl' }).waitFor({ timeout: 30_000 });
        if (SHOTS) await second.page.screenshot({ path: path.join(SHOTS, 'labeling-hot-exit.png') });
        await runCommand(second.page, 'File: Save');
        await second.page.locator('.tab.active:not(.dirty)', { hasText: 'hot.jsonl' }).waitFor({ timeout: 30_000 });
        const saved = fs
          .readFileSync(path.join(folder, 'hot.jsonl'), 'utf8')
          .split('\n')
          .slice(0, 5)
          .map((l) => JSON.parse(l).label);
        assert.deepEqual(saved, ['a', 'b', undefined, undefined, undefined]);
      } finally {
        await second.close();
        for (const dir of [folder, userData, browserProfile]) fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
