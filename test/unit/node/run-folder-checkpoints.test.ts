// Checkpoints are replaced and pruned so that a kill at any moment leaves each step-N whole or gone.
// The kill is simulated by a recursive delete that removes one file and then throws: the old code
// (rmSync on step-N itself) left a step-N with its trainer_state.json but without its weights, which
// resume would then load.
import { afterEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunFolder, completeCheckpoints } from '../../../src/node/run-folder';
import { DELETING_PREFIX, removeDirAtomic } from '../../../src/node/fs-atomic';
import { TRAINER_STATE } from '../../../src/protocol';

// The module object itself: the code under test reaches rmSync through it (a namespace import is a copy).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs = require('node:fs') as { rmSync: typeof fs.rmSync };
const dirs: string[] = [];
const realRm = fs.rmSync;
afterEach(() => {
  nodeFs.rmSync = realRm;
});
process.on('exit', () => dirs.forEach((d) => realRm(d, { recursive: true, force: true })));

function runDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-ckpt-'));
  dirs.push(d);
  return d;
}

/** A checkpoint as the engines write it: weights and optimizer state, trainer_state.json last. */
async function write(folder: RunFolder, step: number, keep: number | null): Promise<string> {
  return folder.writeCheckpoint(
    step,
    async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'model.safetensors'), `weights ${step}`);
      fs.writeFileSync(path.join(tmp, 'optimizer.safetensors'), `moments ${step}`);
      fs.writeFileSync(path.join(tmp, TRAINER_STATE), JSON.stringify({ global_step: step }));
    },
    keep,
  );
}

/** A recursive delete killed part way: the first file of the folder (by name) goes, then it dies. */
function killRecursiveDeletes(): void {
  nodeFs.rmSync = ((target: fs.PathLike, options?: fs.RmOptions) => {
    const p = String(target);
    if (options?.recursive && fs.existsSync(p) && fs.statSync(p).isDirectory()) {
      const first = fs.readdirSync(p).sort()[0];
      if (first) realRm(path.join(p, first));
      throw new Error('killed');
    }
    return realRm(target, options);
  }) as typeof fs.rmSync;
}

function assertWhole(dir: string): void {
  for (const { step, dir: d } of completeCheckpoints(dir)) {
    for (const f of ['model.safetensors', 'optimizer.safetensors']) {
      assert.ok(fs.existsSync(path.join(d, f)), `step-${step} is listed as complete but lacks ${f}`);
    }
  }
}

describe('checkpoint replacement and pruning', () => {
  it('a delete killed while pruning never leaves a checkpoint that looks complete but is not', async () => {
    const dir = runDir();
    const folder = new RunFolder(dir);
    await write(folder, 1, 2);
    await write(folder, 2, 2);
    killRecursiveDeletes();
    await assert.rejects(write(folder, 3, 2), /killed/); // pruning step-1 dies part way
    nodeFs.rmSync = realRm;
    assert.deepEqual(
      completeCheckpoints(dir).map((c) => c.step),
      [2, 3],
    );
    assertWhole(dir);
    // The next write clears what the killed delete left.
    await write(folder, 4, 2);
    assert.deepEqual(
      fs.readdirSync(path.join(dir, 'checkpoints')).filter((n) => n.startsWith(DELETING_PREFIX)),
      [],
    );
    assert.deepEqual(
      completeCheckpoints(dir).map((c) => c.step),
      [3, 4],
    );
  });

  it('rewriting a step (a resumed run saving it again) killed mid-delete leaves the old one whole or gone', async () => {
    const dir = runDir();
    const folder = new RunFolder(dir);
    await write(folder, 5, null);
    killRecursiveDeletes();
    await assert.rejects(write(folder, 5, null), /killed/);
    nodeFs.rmSync = realRm;
    assertWhole(dir);
  });

  it('removeDirAtomic: a missing folder is not an error; the folder is gone afterwards', () => {
    const dir = runDir();
    removeDirAtomic(path.join(dir, 'nothing'));
    const d = path.join(dir, 'x');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'f'), '1');
    removeDirAtomic(d);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
