/// <reference types="mocha" />
// "DPO: Export GGUF" in a real VS Code, with arguments that skip the pickers: a tiny Llama made by
// "DPO: Make Tiny Model" becomes <model>/gguf/<name>-f32.gguf and an Ollama Modelfile beside it, and
// the file loads in llama.cpp (node-llama-cpp's CPU build) with the model's vocabulary and f32 tensors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as NodeLlama from 'node-llama-cpp';
import type { DpoExtensionApi } from '../../../src/extension/extension';
import type { CommandResult } from '../../../src/extension/commands';
import { waitForExtension } from './wait';

// node-llama-cpp is ESM with top-level await: a real import(), not the require() of CommonJS output.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<typeof NodeLlama>;

describe('DPO: Export GGUF', () => {
  let model: string;

  before(async () => {
    await (await waitForExtension<DpoExtensionApi>('dpo-studio.dpo-studio', 150_000)).activate();
    const made = await vscode.commands.executeCommand<CommandResult>('dpo.makeTinyModel', {
      out: path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'models', 'gguf-tiny'),
      family: 'llama',
    });
    assert.ok(made.ok, made.error);
    model = made.path!;
  });
  after(() => model && fs.rmSync(model, { recursive: true, force: true }));

  it('writes the .gguf and its Modelfile, and llama.cpp loads the file', async function () {
    this.timeout(120_000);
    const started = Date.now();
    const r = await vscode.commands.executeCommand<CommandResult & { modelfile?: string }>('dpo.exportGguf', { model, type: 'f32' });
    assert.ok(r.ok, r.error);
    const file = path.join(model, 'gguf', 'gguf-tiny-f32.gguf');
    assert.equal(r.path, file);
    assert.equal(r.modelfile, path.join(model, 'gguf', 'Modelfile'));
    assert.match(fs.readFileSync(r.modelfile!, 'utf8'), /^FROM \.\/gguf-tiny-f32\.gguf$/m);
    assert.deepEqual(
      fs.readdirSync(path.dirname(file)).filter((f) => f.includes('.tmp')),
      [],
      'no temporary file left',
    );
    const config = JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8')) as { vocab_size: number; num_hidden_layers: number };
    const lib = await importEsm('node-llama-cpp');
    const info = await lib.readGgufFileInfo(file);
    const md = info.metadata as unknown as { general: { architecture: string; file_type: number }; tokenizer: { ggml: { tokens: string[] } } };
    assert.equal(md.general.architecture, 'llama');
    assert.equal(md.general.file_type, 0, 'all f32');
    assert.equal(md.tokenizer.ggml.tokens.length, config.vocab_size);
    const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
    // Per layer: 4 attention, 3 MLP and 2 norm matrices; plus the embedding, final norm (tied head).
    assert.equal(tensors.length, 9 * config.num_hidden_layers + 2);
    assert.ok(tensors.every((t) => t.ggmlType === lib.GgmlType.F32));
    const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
    const loaded = await llama.loadModel({ modelPath: file });
    try {
      assert.ok(loaded.tokenize('the model learns').length > 0);
      assert.equal(loaded.fileInfo.metadata.general.architecture, 'llama');
    } finally {
      await loaded.dispose();
    }
    console.log(`export-gguf from the command and the llama.cpp load: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
