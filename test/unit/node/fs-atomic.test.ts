// Appends to run-folder files name the file when the write fails: a full disk once said only
// "ENOSPC: no space left on device, write" (the fault suite's 400 KB tmpfs case).
import { describe, it, mock } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { appendLinesSync } from '../../../src/node/fs-atomic';
import { tempDir } from '../helpers/fixtures';
// The module object the sources call into (an `import * as` copy cannot be spied on).
const fs = createRequire(__filename)('node:fs') as typeof import('node:fs');

describe('appendLinesSync', () => {
  it('names the file, and what to do, when the disk is full', () => {
    const file = path.join(tempDir('fs-atomic'), 'metrics.jsonl');
    const full = mock.method(fs, 'writeSync', () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    });
    try {
      assert.throws(
        () => appendLinesSync(file, ['{"kind":"status"}']),
        (err: NodeJS.ErrnoException) =>
          err.message === `${file}: ENOSPC: no space left on device, write (the disk is full: free space, then resume the run)` &&
          err.code === 'ENOSPC' &&
          err.path === file,
      );
    } finally {
      full.mock.restore();
    }
    appendLinesSync(file, ['a', 'b']);
    assert.equal(fs.readFileSync(file, 'utf8'), 'a\nb\n', 'the file is still appended to once the disk has room');
  });
});
