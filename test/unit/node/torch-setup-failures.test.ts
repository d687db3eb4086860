// A set-up that did not finish never counts as done: pip failing, or pip "succeeding" without a
// pinned package, leaves the environment not ready (so New Training Run does not offer it and a run
// offers the set-up instead of dying on "No module named …"), and the error says pip's last lines.
// Fake interpreters (shell scripts) stand in for Python, venv and pip: nothing is installed.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SetupError, pinnedModules, setupTorch, torchEnvState } from '../../../src/node/torch-setup';
import { torchInstalled } from '../../../src/node/engine-choice';
import { TORCH_STAMP } from '../../../src/node/torch-env';
import { toastLine } from '../../../src/node/failure-text';
import { tempDir } from '../helpers/fixtures';
import { fakeBasePython } from '../../electron/suite/fake-python';

const installFailed = (err: unknown) => err instanceof SetupError && err.problem === 'install-failed';

describe('PyTorch engine set-up that does not finish', () => {
  it("pip failing: the error carries pip's last lines, its first line names the error, and the env is not ready", async () => {
    const dir = tempDir('setup-pip-fails');
    const envDir = path.join(dir, 'env');
    const log: string[] = [];
    const err = await setupTorch({ envDir, python: fakeBasePython(dir, { pip: 'fail' }), log: (l) => log.push(l), minFreeBytes: 0 }).then(
      () => assert.fail('set-up succeeded'),
      (e: Error) => e,
    );
    assert.ok(installFailed(err), String(err));
    const [first] = err.message.split('\n');
    assert.match(
      first,
      /installing python\/requirements\.txt failed: python -m pip install failed \(exit 1\): ERROR: No matching distribution found for jsonschema==4\.25\.1$/,
    );
    assert.match(err.message, /Could not find a version that satisfies the requirement jsonschema/, 'the earlier lines are kept for the log');
    assert.doesNotMatch(toastLine(err.message), /(:|Last lines:)\s*$/);
    assert.ok(fs.existsSync(path.join(envDir, 'bin', 'python')), 'the interpreter is there…');
    assert.equal(fs.existsSync(path.join(envDir, TORCH_STAMP)), false, '…but no stamp');
    assert.equal(torchEnvState(envDir).ready, false);
    assert.equal(torchInstalled(envDir), false, 'New Training Run does not offer an unfinished set-up');
  });

  it('pip exiting 0 without a pinned package: the import check names it, and the env is not ready', async () => {
    const dir = tempDir('setup-missing-module');
    const envDir = path.join(dir, 'env');
    const err = await setupTorch({ envDir, python: fakeBasePython(dir, { pip: 'ok', missing: 'jsonschema' }), log: () => undefined, minFreeBytes: 0 }).then(
      () => assert.fail('set-up succeeded'),
      (e: Error) => e,
    );
    assert.ok(installFailed(err), String(err));
    assert.match(err.message.split('\n')[0], /the new environment is incomplete: .*No module named 'jsonschema'/);
    assert.equal(torchInstalled(envDir), false);
  });

  it('a set-up that imports every pin counts as done, and the next one is a check that starts nothing', async () => {
    const dir = tempDir('setup-complete');
    const envDir = path.join(dir, 'env');
    const log: string[] = [];
    const done = await setupTorch({ envDir, python: fakeBasePython(dir, { pip: 'ok' }), log: (l) => log.push(l), minFreeBytes: 0 });
    assert.equal(done.installed, true);
    assert.ok(
      log.some((l) =>
        l.startsWith('checking that the environment imports torch, transformers, trl, accelerate, peft, datasets, safetensors, tokenizers, jsonschema'),
      ),
      log.join('\n'),
    );
    assert.ok(torchInstalled(envDir));
    const again = await setupTorch({ envDir, python: '/nonexistent/python', log: () => undefined });
    assert.equal(again.cached, true);
  });

  it('the modules checked are the pins of python/requirements.txt, by import name', () => {
    const dir = tempDir('pins');
    const file = path.join(dir, 'requirements.txt');
    fs.writeFileSync(file, '# comment\ntorch==2.13.0\nPyYAML==6.0 ; python_version>"3"\nscikit-learn==1.5\n\n-r other.txt\nsome-pkg[extra]==1\n');
    assert.deepEqual(pinnedModules(file), ['torch', 'yaml', 'sklearn', 'some_pkg']);
    for (const m of ['torch', 'transformers', 'trl', 'accelerate', 'peft', 'datasets', 'safetensors', 'tokenizers', 'jsonschema'])
      assert.ok(pinnedModules().includes(m), `${m} is checked`);
  });
});
