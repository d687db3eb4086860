// Screenshots of every DPO panel for a person to look at: the metrics panel with a run, the probe
// after a generation (a token's read-out open), the labeling editor on a code block, a problem line
// and the help, the review queue, and the Evaluate panel over a real `dpo eval` of the run, in Dark
// Modern and Light Modern at 1600x1000 and 700x1000. docs/tour.md shows a few of them (docs/images/).
// Not part of npm test (it takes minutes). Usage, after a build:
//   SHOTS_DIR=/tmp/shots node scripts/screenshots.mjs
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { ROOT, dpo, pickRow, runCommand, setTheme, startWorkbench } = require('../out/test/e2e/helpers.js');
const { RUN, makeWorkspace, openInLabelEditor, openMetrics, openProbe, probeGenerate, showPanel } = require('../out/test/e2e/panels.js');

const dir = process.env.SHOTS_DIR;
if (!dir) {
  console.error('screenshots: set SHOTS_DIR to the folder to write the PNG files to');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });

const SIZES = [
  [1600, 1000],
  [700, 1000],
];
const THEMES = [
  ['Dark Modern', true, 'dark'],
  ['Light Modern', false, 'light'],
];

const workspace = makeWorkspace('dpo-shots-');
// An evaluation of the run's final model against its reference, judged by the run's implicit reward.
const run = path.join(workspace, '.dpo', 'runs', RUN);
const evalArgs = ['--prompts', path.join(workspace, 'preferences.jsonl'), '--limit', '12', '--samples', '2', '--max-new-tokens', '32', '--implicit-run', run];
dpo('eval', '--model', run, '--out', path.join(run, 'eval', 'final'), ...evalArgs);
const { page, close } = await startWorkbench({ folder: workspace, dev: ROOT });
try {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  await openMetrics(page);
  await probeGenerate(await openProbe(page));
  await openInLabelEditor(page, 'pairs.jsonl');
  await runCommand(page, 'View: Close Primary Side Bar');
  await runCommand(page, 'DPO: Review Suspicious Pairs');
  await pickRow(page, RUN, 'DPO: Review Suspicious Pairs');
  await page.locator('.tab', { hasText: 'preferences.jsonl' }).first().waitFor({ timeout: 120_000 });
  await runCommand(page, 'DPO: Show Evaluation');

  /** Each shot: the tab, an element only its webview holds, and what to do in it first. */
  const SHOTS = [
    ['metrics', 'DPO Metrics', '.chart canvas', async () => {}],
    [
      'probe',
      /^Probe: /,
      '#legend',
      async (frame) => {
        // A token's read-out open, as keyboard focus opens it.
        await frame.focus('#text-policy .token:nth-child(3)');
      },
    ],
    [
      'labeling-code',
      'pairs.jsonl',
      '#kind',
      async (frame) => {
        await frame.focus('#pair');
        for (let i = 0; i < 4; i++) await page.keyboard.press('k'); // to line 1
        await page.keyboard.press('j'); // line 2: a fenced code block
        await frame.waitForSelector('.text pre code');
      },
    ],
    [
      'labeling-problem',
      'pairs.jsonl',
      '#kind',
      async (frame) => {
        await frame.focus('#pair');
        await page.keyboard.press('p');
        await frame.waitForSelector('#problems');
      },
    ],
    [
      'labeling-help',
      'pairs.jsonl',
      '#kind',
      async (frame) => {
        await frame.focus('#pair');
        await page.keyboard.press('?');
        await frame.waitForSelector('#help:not([hidden])');
      },
    ],
    ['review', 'preferences.jsonl', '#kind', async () => {}],
    [
      'evaluate',
      'DPO Evaluation',
      '#table tbody tr',
      async (frame) => {
        // The evaluation's answers side by side under the table.
        await frame.click('#table tbody tr');
        await frame.waitForSelector('#pairs-card:not([hidden]) .pair-card');
      },
    ],
  ];
  for (const [theme, dark, themeName] of THEMES) {
    await setTheme(page, theme, dark);
    for (const [w, h] of SIZES) {
      await page.setViewportSize({ width: w, height: h });
      for (const [name, tab, selector, prepare] of SHOTS) {
        const frame = await showPanel(page, tab, selector);
        await prepare(frame);
        await page.waitForTimeout(400); // charts redraw after a resize
        const file = path.join(dir, `${name}-${themeName}-${w}.png`);
        await page.screenshot({ path: file });
        console.log(file);
        if (name === 'labeling-help') await page.keyboard.press('Escape');
      }
    }
  }
} finally {
  await close();
  fs.rmSync(workspace, { recursive: true, force: true });
}
