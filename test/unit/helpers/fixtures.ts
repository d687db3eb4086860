// Shared test set-up: a temp folder per test file, tiny models made by the project itself, and the
// wasm backend (what these machines run on), selected once before any tensor exists.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../../../src/engine/backend';
import { TinyModelOptions, makeTinyModel, TINY_MODEL_DEFAULTS } from '../../../src/engine/model/tiny';
import { ModelConfig, parseModelConfig } from '../../../src/engine/model/config';
import { BackendName } from '../../../src/protocol';

const made: string[] = [];

/** A fresh temp folder, removed when the test process exits (node --test runs each file in its own). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dpo-${prefix}-`));
  if (made.length === 0) process.on('exit', () => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  made.push(dir);
  return dir;
}

let backendReady: Promise<unknown> | undefined;

/** Tests run on wasm unless DPO_TEST_BACKEND names another (e.g. cpu, to cross-check). */
export function useTestBackend(): Promise<unknown> {
  backendReady ??= selectBackend((process.env.DPO_TEST_BACKEND as BackendName | undefined) ?? 'wasm');
  return backendReady;
}

export function tinyModel(dir: string, options: Partial<TinyModelOptions> = {}): string {
  makeTinyModel(dir, { ...TINY_MODEL_DEFAULTS, ...options });
  return dir;
}

export function writeJsonl(file: string, rows: unknown[]): string {
  fs.writeFileSync(file, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return file;
}

/** GPT-2 small's shape (vocab 50,257, d 768, 12 layers, 12 heads, 1,024 positions), for memory estimates. */
export const GPT2_SMALL: ModelConfig = parseModelConfig({
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
});
