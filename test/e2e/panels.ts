// Opening each DPO panel in a real VS Code for the accessibility check and the screenshots: a
// workspace with a tiny trained run and a file to label, the palette steps that open the metrics
// panel, the probe and the labeling editor, the webview frame that holds a panel's DOM, and an
// axe-core run inside that frame.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, FrameLocator, Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, pickRow, runCommand } from './helpers';

export const RUN = 'a11y-run';

/** Lines to label: plain text, a fenced code block, a chat list and a line with a problem. */
export const LABEL_LINES = [
  JSON.stringify({ prompt: 'Write a haiku about rain.', responses: ['Soft rain on the roof', 'Rain is water that falls.'] }),
  JSON.stringify({ prompt: 'Show a Python loop.', responses: ['```python\nfor i in range(3):\n    print(i)\n```', 'Use a loop.'] }),
  JSON.stringify({
    prompt: [{ role: 'user', content: 'Hi!' }],
    responses: [[{ role: 'assistant', content: 'Hello!' }], [{ role: 'assistant', content: 'What.' }]],
  }),
  '{"prompt": "broken", "responses": ["a", "b"]',
];

/** A temp workspace with a tiny model, a 3-step run on a copy of the example data, and pairs.jsonl. */
export function makeWorkspace(prefix: string): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const data = path.join(workspace, 'preferences.jsonl');
  fs.copyFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), data);
  fs.writeFileSync(path.join(workspace, 'pairs.jsonl'), LABEL_LINES.join('\n') + '\n');
  fs.writeFileSync(path.join(workspace, 'pairs.guidelines.md'), '# Guidelines\n\nPrefer the **correct** answer.\n');
  const model = path.join(workspace, 'models', 'tiny');
  dpo('make-tiny-model', '--out', model, '--max-positions', '128');
  // Four steps with an eval split, so the metrics panel has train and eval series.
  const run = path.join(workspace, '.dpo', 'runs', RUN);
  dpo('train', '--model', model, '--data', data, '--out', run, '--max-steps', '4', '--batch-size', '4', '--max-length', '96', '--learning-rate', '0.001');
  // A warning record, so the panel's warnings list (and its contrast) is on screen too.
  const warning = { kind: 'warning', step: 2, code: 'stuck-loss', message: 'loss has not moved for 2 steps (a test record)' };
  fs.appendFileSync(path.join(run, 'metrics.jsonl'), JSON.stringify(warning) + '\n');
  return workspace;
}

/** DPO: Open Metrics on the run; resolves once a chart is drawn. */
export async function openMetrics(page: Page): Promise<FrameLocator> {
  await runCommand(page, 'DPO: Open Metrics');
  await pickRow(page, RUN, 'DPO: Open Metrics');
  await page.keyboard.press('Enter');
  const view = activeWebview(page);
  await view.locator('.chart canvas').first().waitFor({ timeout: 60_000 });
  return view;
}

/** DPO: Probe Model on the run's final model; resolves once the models are loaded. */
export async function openProbe(page: Page): Promise<FrameLocator> {
  await runCommand(page, 'DPO: Probe Model');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: RUN }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
  const view = activeWebview(page);
  await view.locator('#models').filter({ hasText: RUN }).waitFor({ timeout: 60_000 });
  return view;
}

/** Generates from both models in the open probe; resolves once both answers are scored. */
export async function probeGenerate(view: FrameLocator, maxTokens = 24): Promise<void> {
  await view.locator('#prompt textarea').fill('Q: What color is the sky?\nA:');
  await view.locator('#maxNewTokens input').fill(String(maxTokens));
  await view.locator('#maxNewTokens input').dispatchEvent('change');
  await view.locator('#generate').click();
  for (const w of ['policy', 'reference']) await view.locator(`#text-${w} .token`).first().waitFor({ timeout: 90_000 });
}

/** Opens `file` from the Explorer, then DPO: Label Pairs on it. */
export async function openInLabelEditor(page: Page, file: string): Promise<FrameLocator> {
  await openFromExplorer(page, file);
  await runCommand(page, 'DPO: Label Pairs');
  const view = activeWebview(page);
  await view.locator('#kind').waitFor({ timeout: 60_000 });
  return view;
}

/** Opens a file of the workspace's top folder as a text editor tab. */
export async function openFromExplorer(page: Page, file: string): Promise<void> {
  // From the Explorer (retried: a file written during the test appears there once the watcher has
  // seen it, and right after start-up a click can land before the tree is ready). Not through Go to
  // File, whose search index may not be ready yet.
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: new RegExp(`^${file.replace(/\./g, '\\.')}$`) }).first();
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await row.click({ timeout: 10_000 });
      await page.locator('.tab.active', { hasText: file }).waitFor({ timeout: 30_000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

/**
 * Brings the panel to the front and returns its webview's content frame: the first tab titled
 * `title` whose webview holds `selector` (a text editor of the same file can have the same title).
 */
export async function showPanel(page: Page, title: string | RegExp, selector: string): Promise<Frame> {
  const tabs = page.locator('.tabs-container .tab', { hasText: title });
  const deadline = Date.now() + 90_000;
  for (;;) {
    for (let i = 0; i < (await tabs.count()); i++) {
      await tabs.nth(i).click();
      const frame = await activeWebviewFrame(page, selector, 5_000).catch(() => undefined);
      if (frame) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no tab titled ${title} shows a webview with ${selector}`);
  }
}

/** The Playwright Frame of the visible webview's content (the same two-level nesting as desktop VS Code). */
export async function activeWebviewFrame(page: Page, selector: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const outer of await page.locator('iframe.webview.ready >> visible=true').elementHandles()) {
      const inner = await (await (await outer.contentFrame())?.$('#active-frame'))?.contentFrame();
      if (inner && (await inner.$(selector))) return inner;
    }
    if (Date.now() > deadline) throw new Error(`no visible webview holds ${selector}`);
    await page.waitForTimeout(250);
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string; html: string }[];
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations in the frame's document (evaluated through the DevTools protocol, so the webview's CSP allows it). */
export async function axeViolations(frame: Frame): Promise<AxeViolation[]> {
  // Strings, not functions: this file is compiled without the DOM's types.
  if (!(await frame.evaluate("typeof axe !== 'undefined'"))) await frame.evaluate(AXE_SOURCE);
  return frame.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary, html: n.html })) })))`);
}

/** The violations as lines a person can act on: rule, impact, help, and each element with why. */
export function describeViolations(vs: AxeViolation[]): string {
  return vs
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help}\n` +
        v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.html.slice(0, 160)}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`).join('\n'),
    )
    .join('\n');
}

export const serious = (vs: AxeViolation[]) => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');
