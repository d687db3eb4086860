// Setting up the PyTorch engine's environment: against the project's own environment a second set-up
// is a check that starts no process; each problem a user can meet (no Python, not a Python, too
// old, no disk space) is named as such before anything is installed.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SetupError, checkPython, setupTorch, torchEnvState } from '../../../src/node/torch-setup';
import { torchEnvDir } from '../../../src/node/torch-env';
import { tempDir } from '../helpers/fixtures';

const problem = (p: SetupError['problem']) => (err: unknown) => err instanceof SetupError && err.problem === p;

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

describe('PyTorch engine set-up', () => {
  it("the project's environment is up to date: set-up reports it, and the second time reads the cache", async () => {
    const envDir = torchEnvDir();
    assert.ok(torchEnvState(envDir).ready, `${envDir} is set up from python/requirements.txt`);
    const log: string[] = [];
    const first = await setupTorch({ envDir, log: (l) => log.push(l), python: '/nonexistent/python' });
    assert.equal(first.installed, false);
    assert.match(first.report.torch, /^2\.13\.0/);
    assert.equal(first.report.trl, '1.13.0');
    const again = await setupTorch({ envDir, log: (l) => log.push(l), python: '/nonexistent/python' });
    assert.equal(again.cached, true, 'no Python started when nothing changed');
    assert.deepEqual(again.report, first.report);
    assert.deepEqual(
      log.filter((l) => l.startsWith('$ ')),
      [],
      'no installer ran',
    );
  });

  it('a missing interpreter, a non-Python and an old Python are each named', async () => {
    const dir = tempDir('setup');
    await assert.rejects(checkPython(path.join(dir, 'nope'), { log: () => undefined }), problem('no-python'));
    await assert.rejects(checkPython(script(dir, 'false', 'exit 3'), { log: () => undefined }), problem('bad-python'));
    await assert.rejects(checkPython(script(dir, 'liar', 'echo hello'), { log: () => undefined }), problem('bad-python'));
    await assert.rejects(
      checkPython(script(dir, 'py38', 'echo 3.8.10'), { log: () => undefined }),
      (err: Error) => problem('python-too-old')(err) && /3\.8\.10.*3\.10 or newer/.test(err.message),
    );
    assert.equal(await checkPython(script(dir, 'py312', 'echo 3.12.1'), { log: () => undefined }), '3.12.1');
  });

  it('a new environment on a disk without room stops before creating anything', async () => {
    const envDir = path.join(tempDir('setup-disk'), 'env');
    const py = script(path.dirname(envDir), 'py311', 'echo 3.11.7');
    await assert.rejects(
      setupTorch({ envDir, python: py, log: () => undefined, minFreeBytes: 2 ** 60 }),
      (err: Error) => problem('no-disk-space')(err) && /GiB free/.test(err.message),
    );
    assert.equal(fs.existsSync(envDir), false);
  });

  it('set-up can be cancelled', async () => {
    const envDir = path.join(tempDir('setup-cancel'), 'env');
    const py = script(path.dirname(envDir), 'slow', 'sleep 30');
    const abort = new AbortController();
    const done = setupTorch({ envDir, python: py, log: () => undefined, signal: abort.signal });
    abort.abort();
    await assert.rejects(done, problem('cancelled'));
  });
});
