// Shared steps for the Playwright tests in a real VS Code (code-server in headless Chromium).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin', 'dpo.js');

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { startWorkbench } = require('../../../test/electron/launcher/workbench.js') as {
  startWorkbench(o: {
    folder: string;
    dev: string;
    userData?: string;
    onLog?: (type: string, text: string) => void;
    port?: number;
    browserProfile?: string;
  }): Promise<{ page: Page; close(): Promise<void>; kill(): Promise<void>; port: number }>;
};

export function dpo(...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * Runs a palette command, reopening the palette if it closed or its command list was snapshotted
 * too early. Retries until a deadline rather than a fixed count, each try waiting longer than the
 * last, so a loaded machine (slow activation, slow rendering) gets the time it needs.
 */
export async function runCommand(page: Page, title: string, deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (let wait = 3000; ; wait = Math.min(wait * 2, 30_000)) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input.input');
    const row = page
      .locator('.quick-input-list .monaco-list-row', {
        has: page.locator('.label-name', { hasText: new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
      })
      .first();
    try {
      // Inside the retry: the palette can close again while the workbench is still settling.
      await input.waitFor({ state: 'visible', timeout: wait });
      await input.fill(`>${title}`, { timeout: wait });
      await row.waitFor({ state: 'visible', timeout: wait });
      await row.click({ timeout: wait });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`command "${title}" never appeared in the palette: ${(err as Error).message}`, { cause: err });
      await page.keyboard.press('Escape');
    }
  }
}

/** Picks the quick-pick row containing `text`, once the picker titled `title` (if given) is up. */
export async function pickRow(page: Page, text: string, title?: string, timeout = 30_000): Promise<void> {
  if (title) await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: 30_000 });
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout });
  await row.click();
}

/** The DOM of the active webview: the same two-level frame nesting as desktop VS Code. */
export function activeWebview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('#active-frame');
}

/**
 * Switches the colour theme through the palette's theme picker, as a person would. Right after
 * start-up the picker can open before the built-in themes are registered: then close it and retry.
 */
export async function setTheme(page: Page, name: string, dark: boolean): Promise<void> {
  for (let attempt = 0; attempt < 6; attempt++) {
    await runCommand(page, 'Preferences: Color Theme');
    try {
      // Inside the retry too: a busy workbench can close the picker again before it takes the text.
      await page.locator('.quick-input-widget input.input[placeholder*="Color Theme"]').fill(name, { timeout: 10_000 });
      await pickRow(page, name, undefined, 5_000);
      await page.locator(dark ? '.monaco-workbench.vs-dark' : '.monaco-workbench.vs').waitFor({ timeout: 30_000 });
      return;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  throw new Error(`the colour theme "${name}" never appeared in the theme picker`);
}
