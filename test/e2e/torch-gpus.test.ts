// New Training Run on a machine whose PyTorch set-up found two H100s (an environment whose cached
// report says so; its interpreter is the project's): the PyTorch engine comes first, a 6.7B model
// gets LoRA first, then precision, the number of GPUs and the accelerate preset. Screenshots (light
// theme) with DPO_SCREENSHOTS. The run is not started: these machines have no GPU.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, pickRow, runCommand, setTheme, startWorkbench } from './helpers';
import { requirementsHash } from '../../src/node/torch-setup';
import { TORCH_STAMP, torchPython } from '../../src/node/torch-env';

const SHOTS = process.env.DPO_SCREENSHOTS;

/** A safetensors file holding only a header: Llama-7B's shapes, no weights (the size is read from it). */
function headerOnlySafetensors(file: string): void {
  const t = (shape: number[]) => ({ dtype: 'BF16', shape, data_offsets: [0, 0] });
  const header: Record<string, unknown> = { 'model.embed_tokens.weight': t([32000, 4096]), 'lm_head.weight': t([32000, 4096]) };
  for (let i = 0; i < 32; i++) {
    for (const p of ['q', 'k', 'v', 'o']) header[`model.layers.${i}.self_attn.${p}_proj.weight`] = t([4096, 4096]);
    for (const p of ['gate', 'up']) header[`model.layers.${i}.mlp.${p}_proj.weight`] = t([11008, 4096]);
    header[`model.layers.${i}.mlp.down_proj.weight`] = t([4096, 11008]);
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json]));
}

describe('New Training Run with two GPUs found at set-up', { timeout: 300_000 }, () => {
  let page: Page;
  let close: () => Promise<void>;
  let workspace: string;
  const saved = process.env.DPO_TORCH_ENV;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-e2e-gpus-'));
    const env = path.join(workspace, '.env');
    fs.mkdirSync(path.join(env, 'bin'), { recursive: true });
    fs.symlinkSync(torchPython(path.join(ROOT, '.cache', 'torch-env')), torchPython(env));
    fs.writeFileSync(path.join(env, TORCH_STAMP), requirementsHash() + '\n');
    const gpus = [0, 1].map((index) => ({ index, name: 'NVIDIA H100 80GB HBM3', memoryBytes: 85_520_809_984 }));
    fs.writeFileSync(
      path.join(env, '.dpo-report.json'),
      JSON.stringify({
        hash: requirementsHash(),
        report: {
          python: '3.11.7',
          torch: '2.13.0',
          transformers: '5.18.0',
          trl: '1.13.0',
          accelerate: '1.15.0',
          peft: '0.21.0',
          cuda: '12.8',
          gpus,
          cpuThreads: 32,
        },
      }),
    );
    const model = path.join(workspace, 'models', 'llama-7b');
    fs.mkdirSync(model, { recursive: true });
    fs.writeFileSync(
      path.join(model, 'config.json'),
      JSON.stringify({ model_type: 'llama', hidden_size: 4096, num_hidden_layers: 32, intermediate_size: 11008, vocab_size: 32000 }),
    );
    headerOnlySafetensors(path.join(model, 'model.safetensors'));
    fs.copyFileSync(path.join(ROOT, 'examples', 'preferences.jsonl'), path.join(workspace, 'pairs.jsonl'));
    process.env.DPO_TORCH_ENV = env; // inherited by code-server and its extension host
    ({ page, close } = await startWorkbench({ folder: workspace, dev: ROOT }));
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  });

  after(async () => {
    await close?.();
    if (saved === undefined) delete process.env.DPO_TORCH_ENV;
    else process.env.DPO_TORCH_ENV = saved;
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  const shot = async (name: string) => SHOTS && page.screenshot({ path: path.join(SHOTS, name) });
  const rows = () => page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
  // Each row's first label (a row's detail line is a label too, hence not all .label-name).
  const labels = () =>
    page.locator('.quick-input-list .monaco-list-row').evaluateAll((els) => els.map((e) => e.querySelector('.label-name')?.textContent?.trim() ?? ''));
  const title = (text: string) => page.locator('.quick-input-widget .quick-input-title', { hasText: text }).waitFor({ state: 'visible', timeout: 30_000 });

  it('asks engine (torch first), LoRA (first for 6.7B), precision, GPUs and the accelerate preset', async () => {
    await setTheme(page, 'Light Modern', false);
    await runCommand(page, 'DPO: New Training Run');
    await pickRow(page, 'models/llama-7b', '(1/5)');
    await pickRow(page, 'pairs.jsonl', '(2/5)');
    await title('— engine');
    const engines = await rows();
    assert.match(engines[0], /PyTorch engine/, 'auto prefers the PyTorch engine when it saw a GPU');
    assert.match(engines[0], /torch · 2× NVIDIA H100 80GB HBM3, CUDA 12\.8/);
    await shot('new-run-gpus-engine-light.png');
    await pickRow(page, 'PyTorch engine');
    await title('— LoRA');
    const lora = await rows();
    assert.match(lora[0], /LoRA \(rank 16\).*recommended for 6\.7B parameters/s);
    await pickRow(page, 'LoRA');
    await title('— precision');
    assert.match((await rows())[0], /^bf16/);
    await pickRow(page, 'bf16');
    await title('— GPUs');
    assert.deepEqual(await labels(), ['2 GPUs', '1 GPU']);
    await shot('new-run-gpus-count-light.png');
    await pickRow(page, '2 GPUs');
    await title('— accelerate preset');
    assert.deepEqual(await labels(), ['ddp', 'deepspeed_zero2', 'deepspeed_zero3', 'fsdp']);
    await shot('new-run-gpus-preset-light.png');
    await pickRow(page, 'fsdp');
    // β comes next: the engine questions are done. (No run: there is no GPU here.)
    await title('β');
    await page.keyboard.press('Escape');
  });
});
