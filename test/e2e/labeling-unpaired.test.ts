// The labeling editor's unpaired mode in a real VS Code (code-server in headless Chromium): thumbs
// up/down with keys, skip, undo, blind mode hiding the label, a bad label in Problems, save, and
// DPO: Convert Paired ↔ Unpaired from the editor, each checked in the files on disk.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, runCommand, startWorkbench } from './helpers';
import { activeWebviewFrame, axeViolations, describeViolations, openInLabelEditor, serious } from './panels';

const UNPAIRED = [
  '{"prompt": "2+2?", "completion": "4", "source": {"id": 1.50}}',
  '{"prompt": "2+2?", "completion": "5"}',
  '{"prompt": "Capital of France?", "completion": "Paris"}',
  '{"prompt": "Capital of France?", "completion": "Lyon"}',
  '{"prompt": "Sky colour?", "completion": "Blue", "label": "yes"}',
];

describe('labeling editor, unpaired mode, in a real VS Code', { timeout: 600_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-unpaired-'));
    fs.writeFileSync(path.join(workspace, 'kto.jsonl'), UNPAIRED.join('\n') + '\n');
    fs.mkdirSync(path.join(workspace, '.vscode'));
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dpo.labeling.annotator': 'tester' }));
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('thumbs up/down with keys, skip, undo and blind; saves the labels; converts to pairs', async () => {
    const view = await openInLabelEditor(page, 'kto.jsonl');
    const position = view.locator('#position');
    const title = view.locator('#left h2');
    await position.filter({ hasText: 'line 1' }).waitFor();
    await view.locator('#kind', { hasText: 'to label' }).waitFor();
    await view.locator('#choose-left', { hasText: '👍 Good' }).waitFor();
    assert.equal(await view.locator('#tie').getAttribute('disabled'), '', 'no tie for a single completion');
    await view.locator('#counts', { hasText: '0 labeled · 0 tie · 0 skipped · 4 left · 1 with problems' }).waitFor({ timeout: 30_000 });
    // The thumbs mode passes axe as the paired mode does (a11y.test.ts).
    const violations = serious(await axeViolations(await activeWebviewFrame(page, '#kind')));
    assert.deepEqual(violations, [], describeViolations(violations));

    await view.locator('#pair').focus();
    await page.keyboard.press('1'); // line 1: thumbs up
    await position.filter({ hasText: 'line 2' }).waitFor();
    await page.keyboard.press('b'); // line 2: thumbs down
    await position.filter({ hasText: 'line 3' }).waitFor();
    await page.keyboard.press('s'); // line 3: moves on, no label
    await position.filter({ hasText: 'line 4' }).waitFor();
    await page.keyboard.press('Backspace'); // undo line 2's thumbs down
    await position.filter({ hasText: 'line 2' }).waitFor();
    await view.locator('#kind', { hasText: 'to label' }).waitFor();
    await page.keyboard.press('2'); // line 2: thumbs down again
    await position.filter({ hasText: 'line 3' }).waitFor();
    await page.keyboard.press('a'); // line 3: up
    await position.filter({ hasText: 'line 4' }).waitFor();
    await page.keyboard.press('2'); // line 4: down
    await position.filter({ hasText: 'line 5' }).waitFor();
    await view.locator('#counts', { hasText: '4 labeled · 0 tie · 0 skipped · 0 left · 1 with problems' }).waitFor({ timeout: 30_000 });
    await page.keyboard.press('k');
    await position.filter({ hasText: 'line 4' }).waitFor();
    await title.filter({ hasText: '👎 undesirable' }).waitFor();
    await view.locator('#blind').click();
    await title.filter({ hasText: /^Completion$/ }).waitFor(); // blind: the label is hidden
    await view.locator('#blind').click();
    await title.filter({ hasText: '👎 undesirable' }).waitFor();

    await runCommand(page, 'File: Save');
    await page.locator('.tab.active:not(.dirty)', { hasText: 'kto.jsonl' }).waitFor({ timeout: 30_000 });
    const lines = fs.readFileSync(path.join(workspace, 'kto.jsonl'), 'utf8').trimEnd().split('\n');
    const obj = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      obj.map((o) => o.label),
      [true, false, true, false, 'yes'],
    );
    assert.equal(obj[0].annotator, 'tester');
    assert.ok(lines[0].startsWith('{"prompt": "2+2?", "completion": "4", "source": {"id": 1.50}'), lines[0]);
    assert.equal(lines[4], UNPAIRED[4], 'a bad line is never rewritten');
    // The bad label is in the Problems panel, named by field.
    await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
    await page.locator('.markers-panel .monaco-tl-row', { hasText: 'label: must be true' }).first().waitFor({ timeout: 30_000 });

    // Convert, from the labeling editor: pairs per prompt beside the file, opened in the editor.
    await view.locator('#pair').focus();
    await runCommand(page, 'DPO: Convert Paired ↔ Unpaired');
    const out = path.join(workspace, 'kto.paired.jsonl');
    await page.locator('.tab.active', { hasText: 'kto.paired.jsonl' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(
      fs
        .readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { prompt: '2+2?', chosen: '4', rejected: '5' },
        { prompt: 'Capital of France?', chosen: 'Paris', rejected: 'Lyon' },
      ],
    );
  });
});
