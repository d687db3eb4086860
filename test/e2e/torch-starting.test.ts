// A torch run in the metrics panel before its first record: opened from the "run started"
// notification while the engine still imports its libraries, the panel shows the run at once,
// saying "starting: importing torch…" or the phase the engine reports, then follows it to "completed" as records arrive. The import
// is made slow on purpose (a sitecustomize.py that sleeps before transformers loads, as a busy
// machine does for ~40 s), so the panel is certain to open inside that window.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, activeWebview, dpo, runCommand, startWorkbench } from './helpers';
import { openFromExplorer } from './panels';
import { TORCH_STAMP, torchPython } from '../../src/node/torch-env';

const IMPORT_DELAY_S = 25;

/** An environment that runs the project's interpreter with a slow `import transformers`. */
function slowImportEnv(dir: string): string {
  const real = path.join(ROOT, '.cache', 'torch-env');
  const slow = path.join(dir, 'slow-site');
  fs.mkdirSync(slow, { recursive: true });
  fs.writeFileSync(
    path.join(slow, 'sitecustomize.py'),
    [
      'import sys, time',
      'class SlowTransformers:',
      '    def find_spec(self, name, path=None, target=None):',
      '        if name == "transformers":',
      '            sys.meta_path.remove(self)',
      `            time.sleep(${IMPORT_DELAY_S})`,
      '        return None',
      'sys.meta_path.insert(0, SlowTransformers())',
      '',
    ].join('\n'),
  );
  const env = path.join(dir, 'env');
  fs.mkdirSync(path.join(env, 'bin'), { recursive: true });
  fs.writeFileSync(torchPython(env), `#!/bin/sh\nPYTHONPATH="${slow}:$PYTHONPATH" exec "${torchPython(real)}" "$@"\n`, { mode: 0o755 });
  for (const f of [TORCH_STAMP, '.dpo-report.json']) fs.copyFileSync(path.join(real, f), path.join(env, f));
  return env;
}

describe('a torch run that has not written its first record, in the metrics panel', { timeout: 400_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  const saved = process.env.DPO_TORCH_ENV;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-torch-starting-'));
    dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'tiny'), '--max-positions', '128');
    const pairs = fs
      .readFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 8);
    fs.writeFileSync(path.join(workspace, 'pairs.jsonl'), pairs.join('\n') + '\n');
    const config = { model: 'models/tiny', data: 'pairs.jsonl', engine: 'torch', max_steps: 2, batch_size: 2, eval_fraction: 0, max_length: 64 };
    fs.writeFileSync(path.join(workspace, 'torch-run.dpo.json'), JSON.stringify(config, null, 2));
    process.env.DPO_TORCH_ENV = slowImportEnv(workspace); // inherited by code-server and its extension host
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (saved === undefined) delete process.env.DPO_TORCH_ENV;
    else process.env.DPO_TORCH_ENV = saved;
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('shows the run as "starting: …" at once, then follows it to completed', async () => {
    await openFromExplorer(page, 'torch-run.dpo.json');
    await runCommand(page, 'DPO: Start Run From Config');
    const toast = page.locator('.notification-toast', { hasText: /DPO run .* started/ });
    await toast.waitFor({ timeout: 120_000 });
    const opened = Date.now();
    await toast.locator('.monaco-button', { hasText: 'Open Metrics' }).click();

    const view = activeWebview(page);
    const summary = view.locator('.run-summary').first();
    // "importing torch…" until the engine's first progress event, then its phase: the run's first
    // progress ("loading policy …") comes before transformers is imported, so either may be what shows.
    await view.locator('.run-summary', { hasText: /starting: (importing torch…|loading policy)/ }).waitFor({ timeout: 30_000 });
    const seenAfter = (Date.now() - opened) / 1000;
    assert.ok(seenAfter < IMPORT_DELAY_S, `shown ${seenAfter.toFixed(1)} s after the click, while the engine was still importing`);
    const runsDir = path.join(workspace, '.dpo', 'runs');
    const written = fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((d) => fs.existsSync(path.join(runsDir, d, 'metrics.jsonl'))) : [];
    assert.deepEqual(written, [], 'the run had written no record yet');
    assert.equal(await view.getByText('No runs in this panel').isVisible(), false);

    await view.locator('.run-summary', { hasText: 'completed' }).waitFor({ timeout: 180_000 });
    const text = await summary.innerText();
    assert.doesNotMatch(text, /starting:/);
    assert.match(text, /step 2\/2/);
    await view.locator('.chart[data-chart="loss"] canvas').waitFor();
  });
});
