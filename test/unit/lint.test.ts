// The process boundaries are lint rules (eslint.config.mjs); this proves each rule bites by linting
// deliberate violations, placed (virtually) in the folder they would break, through ESLint's API.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: process boundaries', () => {
  it('the engine never imports vscode', async () => {
    assert.equal((await restricted('src/engine/train/violation.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n")).length, 1);
  });

  it('a webview imports neither vscode nor Node nor host code', async () => {
    const code =
      "import * as fs from 'node:fs';\nimport * as p from 'path';\nimport * as vscode from 'vscode';\nimport { RunFolder } from '../../src/node/run-folder';\nexport const v = [fs, p, vscode, RunFolder];\n";
    const messages = await restricted('webview/metrics/violation.ts', code);
    assert.equal(messages.length, 4, messages.join('\n'));
  });

  it('the protocol imports neither vscode, tfjs, Node nor other folders', async () => {
    const code =
      "import * as tf from '@tensorflow/tfjs';\nimport * as fs from 'node:fs';\nimport * as vscode from 'vscode';\nimport { Trainer } from '../engine/train/trainer';\nexport const v = [tf, fs, vscode, Trainer];\n";
    assert.equal((await restricted('src/protocol/violation.ts', code)).length, 4);
  });

  it('the extension host never loads tfjs or engine modules in-process', async () => {
    const code = "import * as tf from '@tensorflow/tfjs';\nimport { Trainer } from '../engine/train/trainer';\nexport const v = [tf, Trainer];\n";
    assert.equal((await restricted('src/extension/violation.ts', code)).length, 2);
  });

  it('a command runs the CLI through runCli, not a spawn of its own', async () => {
    const code = "import { spawn } from 'node:child_process';\nexport const v = spawn;\n";
    const messages = await restricted('src/extension/export-thing-command.ts', code);
    assert.equal(messages.length, 1);
    assert.match(messages[0], /runCli/);
    assert.deepEqual(await restricted('src/extension/run-cli.ts', code), []);
  });

  it('the same imports are fine where they belong (the rules are per folder)', async () => {
    assert.deepEqual(
      await restricted('src/engine/ok.ts', "import * as tf from '@tensorflow/tfjs';\nimport * as fs from 'node:fs';\nexport const v = [tf, fs];\n"),
      [],
    );
    assert.deepEqual(
      await restricted(
        'src/extension/ok.ts',
        "import * as vscode from 'vscode';\nimport { RunFolder } from '../node/run-folder';\nexport const v = [vscode, RunFolder];\n",
      ),
      [],
    );
  });
});
