// "DPO: New Training Run" in a real VS Code with a model above 20M parameters on the embedded engine.
// The PyTorch engine not set up (the engine is not asked): the LoRA question comes after the data,
// LoRA first and recommended; Back from it returns to the data; the summary's engine row reads the
// answer and edits it. The run configs written hold lora_r 16, lora_alpha 32 and
// gradient_checkpointing for LoRA, and lora_r 0 for full fine-tuning (with the RPO objective picked from the
// summary: its loss list). Runs are stopped at once.
// With the PyTorch engine set up, the question follows the engine question, and Back returns to it.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, dpo, pickRow, runCommand, startWorkbench } from './helpers';

/** A workspace with a ~32M-parameter model and pairs, opened in a workbench; `torchEnv` overrides DPO_TORCH_ENV. */
async function open(torchEnv?: (workspace: string) => string): Promise<{ page: Page; workspace: string; done(): Promise<void> }> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-newrun-lora-'));
  // A GPT-2 vocabulary at width 512: over the 20M threshold, ~130 MB on disk.
  dpo('make-tiny-model', '--out', path.join(workspace, 'models', 'big'), '--layers', '2', '--d-model', '512', '--heads', '8', '--vocab', '50257');
  fs.copyFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), path.join(workspace, 'pairs.jsonl'));
  // A stopped run is killed after 1 s rather than finishing a step of a 30M model first.
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dpo.stopTimeoutSeconds': 1 }));
  const saved = process.env.DPO_TORCH_ENV;
  if (torchEnv) process.env.DPO_TORCH_ENV = torchEnv(workspace);
  const restore = () => {
    if (saved === undefined) delete process.env.DPO_TORCH_ENV;
    else process.env.DPO_TORCH_ENV = saved;
  };
  try {
    const { page, close } = await startWorkbench({ folder: workspace, dev: ROOT });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    return {
      page,
      workspace,
      done: async () => {
        await close();
        fs.rmSync(workspace, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(workspace, { recursive: true, force: true });
    throw err;
  } finally {
    restore();
  }
}

describe('New Training Run asks the embedded engine about LoRA for a 30M model', { timeout: 300_000 }, () => {
  let page: Page;
  let workspace: string;
  let done: (() => Promise<void>) | undefined;

  // No PyTorch engine: the engine question is skipped (the case where its summary row could go missing).
  before(async () => ({ page, workspace, done } = await open((ws) => path.join(ws, 'no-torch-env'))));
  after(async () => done?.());

  const title = (text: string) => page.locator('.quick-input-widget .quick-input-title', { hasText: text }).waitFor({ state: 'visible', timeout: 30_000 });
  const rows = () => page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
  const configsDir = () => path.join(workspace, '.dpo', 'configs');
  const configs = () => (fs.existsSync(configsDir()) ? fs.readdirSync(configsDir()).filter((f) => /^run-.*\.dpo\.json$/.test(f)) : []);

  /** Enter through β, learning rate and epochs, keeping the values shown. */
  async function keepNumbers(): Promise<void> {
    for (const t of ['β', 'learning rate', 'epochs']) {
      await title(t);
      await page.keyboard.press('Enter');
    }
  }

  /** Starts from the summary, returns the run config written, and stops the run. */
  async function startAndStop(): Promise<Record<string, unknown>> {
    const before = new Set(configs());
    await pickRow(page, 'Start training', '— summary');
    let written: string | undefined;
    for (let i = 0; i < 300 && !written; i++) {
      written = configs().find((f) => !before.has(f));
      if (!written) await page.waitForTimeout(100);
    }
    assert.ok(written, 'Start writes a run config to .dpo/configs/');
    const config = JSON.parse(fs.readFileSync(path.join(configsDir(), written), 'utf8')) as Record<string, unknown>;
    // Stop the run rather than train a 30M model; wait until the stop has ended it.
    await runCommand(page, 'DPO: Stop Run');
    const stopping = page.locator('.notifications-toasts', { hasText: 'stopping after the current step' });
    await stopping.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => undefined);
    await stopping.waitFor({ state: 'hidden', timeout: 60_000 });
    return config;
  }

  it('asks LoRA after the data, shows it in the summary, edits it there, and writes it to the config', async () => {
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/big', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    // The LoRA question: LoRA first, recommended for the size read from the safetensors header.
    await title('— LoRA');
    let items = await rows();
    assert.match(items[0], /LoRA \(rank 16\) with recomputed blocks/, items.join(' | '));
    assert.match(items[0], /recommended for 3\d\.\dM parameters/, items.join(' | '));
    assert.match(items[1], /Full fine-tuning/, items.join(' | '));
    // Back returns to the data (the engine was not asked), and the LoRA question comes again.
    await page.locator('.quick-input-widget .codicon-quick-input-back').click();
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await pickRow(page, 'LoRA (rank 16)', '— LoRA');
    await keepNumbers();
    await title('— summary');
    items = await rows();
    assert.ok(
      items.some((r) => /Engine: embedded \(tfjs\) · LoRA r16, recomputed blocks/.test(r)),
      `the summary's engine row reads the LoRA answer: ${items.join(' | ')}`,
    );
    const lora = await startAndStop();
    assert.equal(lora.engine, 'tfjs');
    assert.equal(lora.lora_r, 16);
    assert.equal(lora.lora_alpha, 32);
    assert.equal(lora.gradient_checkpointing, true);

    // Second pass: LoRA, then the summary's engine row back to the question, Full fine-tuning.
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/big', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await pickRow(page, 'LoRA (rank 16)', '— LoRA');
    await keepNumbers();
    await pickRow(page, 'Engine: embedded (tfjs) · LoRA r16', '— summary');
    await title('— LoRA');
    // The question opens on the previous answer.
    const active = await page.locator('.quick-input-list .monaco-list-row.focused').innerText();
    assert.match(active, /LoRA \(rank 16\)/, `the previous answer is selected: ${active}`);
    await pickRow(page, 'Full fine-tuning', '— LoRA');
    await keepNumbers();
    await title('— summary');
    items = await rows();
    assert.ok(
      items.some((r) => /Engine: embedded \(tfjs\) · full fine-tuning/.test(r)),
      `the summary's engine row reads the edited answer: ${items.join(' | ')}`,
    );
    assert.ok(
      items.some((r) => /Stages: DPO only/.test(r)),
      `a model from a folder is tuned with DPO alone unless asked: ${items.join(' | ')}`,
    );
    // The objective, from the summary: each with one line on when to pick it; RPO writes its loss list.
    await pickRow(page, 'Objective: DPO', '— summary');
    await title('— objective');
    items = await rows();
    assert.ok(
      items.some((r) => r.includes('RPO (DPO + NLL)') && r.includes('likelihood displacement')),
      items.join(' | '),
    );
    await pickRow(page, 'RPO (DPO + NLL)', '— objective');
    await title('— summary');
    items = await rows();
    assert.ok(
      items.some((r) => r.includes('Objective: RPO (DPO + NLL)')),
      items.join(' | '),
    );
    const full = await startAndStop();
    assert.deepEqual(
      [full.loss_type, full.loss_weights],
      [
        ['sigmoid', 'sft'],
        [1, 1],
      ],
    );
    assert.equal(full.engine, 'tfjs');
    assert.equal(full.lora_r, 0);
    assert.equal(full.lora_alpha, undefined);
    assert.equal(full.gradient_checkpointing, undefined);
  });

  it("a tiny model made in the flow is tuned in two stages: SFT on the chosen answers, then DPO (the demo's recipe)", async () => {
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'Make a tiny model', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await title('β');
    await page.keyboard.press('Enter');
    await title('learning rate');
    assert.equal(await page.locator('.quick-input-widget input').inputValue(), '5e-4', "the DPO stage's learning rate from the recipe");
    await page.keyboard.press('Enter');
    await title('epochs');
    await page.keyboard.press('Enter');
    await title('— summary');
    const items = await rows();
    assert.ok(
      items.some((r) => /Stages: SFT on the chosen answers, then DPO from it/.test(r)),
      items.join(' | '),
    );
    const before = new Set(configs());
    await pickRow(page, 'Start training', '— summary');
    let added: string[] = [];
    for (let i = 0; i < 300 && added.length < 2; i++) {
      added = configs().filter((f) => !before.has(f));
      if (added.length < 2) await page.waitForTimeout(100);
    }
    const sft = added.find((f) => f.endsWith('-1-sft.dpo.json'));
    const dpo = added.find((f) => f.endsWith('-2-dpo.dpo.json'));
    assert.ok(sft && dpo, `both stages' configs are written: ${added.join(', ')}`);
    const sftConfig = JSON.parse(fs.readFileSync(path.join(configsDir(), sft), 'utf8'));
    const dpoConfig = JSON.parse(fs.readFileSync(path.join(configsDir(), dpo), 'utf8'));
    assert.equal(sftConfig.mode, 'sft');
    assert.equal(dpoConfig.model, path.join(sftConfig.output_dir, 'final'), 'the DPO stage starts from the SFT model');
    // The metrics panel opens on the SFT stage by itself.
    await page.locator('.tab', { hasText: 'DPO Metrics' }).waitFor({ state: 'visible', timeout: 60_000 });
    await runCommand(page, 'DPO: Stop Run');
    await page.locator('.notifications-toasts', { hasText: 'stage 2 (DPO) was not started' }).waitFor({ state: 'visible', timeout: 60_000 });
  });

  it("Export Launch Script offers the workspace's run configs in a quick pick", async () => {
    await page.keyboard.press('Escape');
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'DPO: Export Launch Script');
    await title('— run config');
    const items = await rows();
    assert.match(items[0], /run-.*\.dpo\.json/, items.join(' | '));
    assert.match(items[items.length - 1], /Choose a run config file/);
    const first = items[0].match(/(run-\S+\.dpo\.json)/)![1];
    await pickRow(page, first, '— run config');
    await title('machines');
    await page.keyboard.press('Enter');
    await title('GPUs per machine');
    await page.keyboard.press('Enter');
    const script = path.join(configsDir(), `launch-${first.replace(/\.json$/, '')}`, 'launch.sh');
    for (let i = 0; i < 300 && !fs.existsSync(script); i++) await page.waitForTimeout(100);
    assert.ok(fs.existsSync(script), `${script} is written`);
  });
});

describe('New Training Run with the PyTorch engine set up: LoRA on the embedded engine', { timeout: 300_000 }, () => {
  let page: Page;
  let workspace: string;
  let done: (() => Promise<void>) | undefined;

  // The project's torch environment (.cache/torch-env, made by `npm test`): the engine is asked.
  before(async () => ({ page, workspace, done } = await open()));
  after(async () => done?.());

  it('asks LoRA after the engine, and Back returns to the engine question', async () => {
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/big', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await pickRow(page, 'Embedded engine', '— engine');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '— LoRA' }).waitFor({ state: 'visible', timeout: 30_000 });
    const items = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    assert.match(items[0], /LoRA \(rank 16\) with recomputed blocks.*recommended for 3\d\.\dM parameters/s, items.join(' | '));
    await page.locator('.quick-input-widget .codicon-quick-input-back').click();
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '— engine' }).waitFor({ state: 'visible', timeout: 30_000 });
    const active = await page.locator('.quick-input-list .monaco-list-row.focused').innerText();
    assert.match(active, /Embedded engine/, `the engine question opens on the previous answer: ${active}`);
    await page.keyboard.press('Escape');
    assert.ok(!fs.existsSync(path.join(workspace, '.dpo', 'configs')), 'a cancelled flow writes no run config');
  });
});
