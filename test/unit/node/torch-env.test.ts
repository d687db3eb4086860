// Where the PyTorch environment is looked for, in order: DPO_TORCH_ENV, a dev checkout's
// .cache/torch-env, the env recorded by the last set-up, then the home for a new one (the extension's
// global storage, or for the CLI the checkout or the per-user data folder). And how failures read.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordTorchEnv, resolveTorchEnv, torchEnvRecordFile } from '../../../src/node/torch-env';
import { failureText, toastLine } from '../../../src/node/failure-text';
import { tempDir } from '../helpers/fixtures';

function envWithPython(dir: string): string {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bin', 'python'), '');
  return dir;
}

describe('the PyTorch environment location', () => {
  it('an installed extension: global storage for a new env, the recorded env once set up, DPO_TORCH_ENV over both', () => {
    const base = tempDir('torch-env-order');
    const packageRoot = path.join(base, 'extensions', 'dpo-studio.dpo-studio-0.3.0'); // versioned, no .git
    fs.mkdirSync(packageRoot, { recursive: true });
    const env = { HOME: path.join(base, 'home'), XDG_CONFIG_HOME: path.join(base, 'config'), XDG_DATA_HOME: path.join(base, 'data') };
    const storageDir = path.join(base, 'globalStorage', 'dpo-studio.dpo-studio');
    const o = { env, packageRoot, storageDir, platform: 'linux' as const };
    assert.deepEqual(resolveTorchEnv(o), { dir: path.join(storageDir, 'torch-env'), source: 'extension-storage' });
    assert.ok(!resolveTorchEnv(o).dir.startsWith(packageRoot), 'never inside the versioned extension folder');

    const made = envWithPython(path.join(storageDir, 'torch-env'));
    assert.equal(recordTorchEnv(made, env), path.join(base, 'config', 'dpo-studio', 'torch-env.json'));
    // The CLI (no storage folder) finds the env the extension made through the record.
    assert.deepEqual(resolveTorchEnv({ env, packageRoot, platform: 'linux' }), { dir: made, source: 'recorded' });
    // An update moves the extension to a new versioned folder: the env is still found.
    const updated = path.join(base, 'extensions', 'dpo-studio.dpo-studio-0.4.0');
    fs.mkdirSync(updated);
    assert.deepEqual(resolveTorchEnv({ ...o, packageRoot: updated }), { dir: made, source: 'recorded' });

    assert.deepEqual(resolveTorchEnv({ ...o, env: { ...env, DPO_TORCH_ENV: path.join(base, 'mine') } }), {
      dir: path.join(base, 'mine'),
      source: 'DPO_TORCH_ENV',
    });
    // A recorded env that was deleted is not used: a new set-up goes to the default home again.
    fs.rmSync(made, { recursive: true });
    assert.equal(resolveTorchEnv(o).source, 'extension-storage');
    assert.deepEqual(resolveTorchEnv({ env, packageRoot, platform: 'linux' }), {
      dir: path.join(base, 'data', 'dpo-studio', 'torch-env'),
      source: 'user-data',
    });
    fs.writeFileSync(torchEnvRecordFile(env, 'linux'), '{"envDir": 3');
    assert.equal(resolveTorchEnv(o).source, 'extension-storage', 'an unreadable record is ignored');
  });

  it("a dev checkout: its .cache/torch-env once made (before any record), and as the CLI's home in a git checkout", () => {
    const base = tempDir('torch-env-checkout');
    const packageRoot = path.join(base, 'repo');
    fs.mkdirSync(path.join(packageRoot, '.git'), { recursive: true });
    const env = { HOME: path.join(base, 'home'), XDG_CONFIG_HOME: path.join(base, 'config') };
    const checkout = path.join(packageRoot, '.cache', 'torch-env');
    assert.deepEqual(resolveTorchEnv({ env, packageRoot, platform: 'linux' }), { dir: checkout, source: 'checkout' });
    const elsewhere = envWithPython(path.join(base, 'elsewhere'));
    recordTorchEnv(elsewhere, env);
    assert.equal(resolveTorchEnv({ env, packageRoot, platform: 'linux' }).dir, elsewhere, 'a record wins over an empty checkout');
    envWithPython(checkout);
    assert.deepEqual(resolveTorchEnv({ env, packageRoot, storageDir: path.join(base, 'gs'), platform: 'linux' }), { dir: checkout, source: 'checkout' });
  });

  it('per-user folders follow each platform', () => {
    assert.equal(
      torchEnvRecordFile({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32'),
      path.join('C:\\Users\\a\\AppData\\Roaming', 'dpo-studio', 'torch-env.json'),
    );
    assert.equal(torchEnvRecordFile({ HOME: '/Users/a' }, 'darwin'), path.join('/Users/a', 'Library', 'Application Support', 'dpo-studio', 'torch-env.json'));
    assert.equal(torchEnvRecordFile({ HOME: '/home/a' }, 'linux'), '/home/a/.config/dpo-studio/torch-env.json');
  });
});

describe('failure texts', () => {
  it('lead with the line that names the error, and never end on a bare header', () => {
    const pip = failureText('python -m pip install', 'exit 1', ['Collecting x', 'ERROR: No matching distribution found for x==1', '', '  ']);
    assert.equal(pip.split('\n')[0], 'python -m pip install failed (exit 1): ERROR: No matching distribution found for x==1');
    assert.equal(failureText('pip', 'exit 1', ['', ' ']), 'pip failed (exit 1) without printing anything');
    assert.equal(toastLine('the engine exit code 1. Last lines:\n'), 'the engine exit code 1. Last lines');
    assert.equal(
      toastLine("run failed:\nLast lines:\nTraceback\nModuleNotFoundError: No module named 'jsonschema'\n  "),
      "run failed: ModuleNotFoundError: No module named 'jsonschema'",
    );
    assert.equal(toastLine('set-up failed: exit 1 (exit 1):'), 'set-up failed: exit 1 (exit 1)');
    assert.equal(toastLine('fine'), 'fine');
  });
});
