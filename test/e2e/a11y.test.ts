// The accessibility check: axe-core inside each DPO panel's webview (metrics with a run, the probe
// after a generation, the labeling editor) in a real VS Code, in Dark Modern and Light Modern. No
// serious or critical violation may remain; a failure prints each one with its elements and why.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Page } from 'playwright-core';
import { ROOT, setTheme, startWorkbench } from './helpers';
import { axeViolations, describeViolations, makeWorkspace, openInLabelEditor, openMetrics, openProbe, probeGenerate, serious, showPanel } from './panels';

/** Each panel: its tab title, an element that only its document holds, and states to check (keys pressed in it, what then shows). */
const PANELS = [
  { name: 'metrics', tab: 'DPO Metrics', selector: '.chart canvas', states: [{ keys: [], shows: '.warnings li' }] },
  { name: 'probe', tab: /^Probe: /, selector: '#models', states: [{ keys: [], shows: '#legend:not([hidden])' }] },
  {
    name: 'labeling',
    tab: 'pairs.jsonl',
    selector: '#kind',
    states: [
      { keys: ['g'], shows: '.response' }, // a pair (g: the next one to label)
      { keys: ['1', 'k'], shows: '.response.rejected' }, // a labeled pair: chosen and rejected marked
      { keys: ['p'], shows: '#problems' }, // a line with a problem
      { keys: ['?'], shows: '#help:not([hidden])' }, // the keyboard help
      { keys: ['Escape'], shows: '#help[hidden]' },
    ],
  },
];

describe('accessibility of the DPO panels (axe-core) in a real VS Code', { timeout: 600_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;

  before(async () => {
    workspace = makeWorkspace('dpo-e2e-a11y-');
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await openMetrics(page);
    await probeGenerate(await openProbe(page));
    await openInLabelEditor(page, 'pairs.jsonl');
  });

  after(async () => {
    await close?.();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  for (const [theme, dark] of [
    ['Dark Modern', true],
    ['Light Modern', false],
  ] as const) {
    it(`has no serious or critical axe violation in any panel in ${theme}`, async () => {
      await setTheme(page, theme, dark);
      const report: string[] = [];
      let total = 0;
      for (const p of PANELS) {
        const frame = await showPanel(page, p.tab, p.selector);
        for (const [i, st] of p.states.entries()) {
          if (st.keys.length) await frame.focus(p.name === 'labeling' ? '#pair' : 'body').catch(() => undefined);
          for (const k of st.keys) await page.keyboard.press(k);
          await frame.waitForSelector(st.shows, { state: 'attached', timeout: 30_000 });
          const found = await axeViolations(frame);
          const bad = serious(found);
          total += bad.length;
          // Every finding is printed (moderate and minor too), so a run shows what is left to improve.
          const name = `${p.name}${p.states.length > 1 ? ` (state ${i + 1}: ${st.shows})` : ''}`;
          console.log(`axe ${theme} ${name}: ${bad.length} serious/critical, ${found.length - bad.length} other\n${describeViolations(found)}`);
          if (bad.length) report.push(`${name}:\n${describeViolations(bad)}`);
        }
      }
      assert.equal(total, 0, `serious/critical axe violations in ${theme}:\n${report.join('\n')}`);
    });
  }
});
