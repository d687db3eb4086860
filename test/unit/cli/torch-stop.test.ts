// `dpo train --engine torch` stops on SIGTERM as the embedded path does: the step finishes, a
// checkpoint is written, the run is marked stopped, exit 0; then --resume completes the run. Needs
// the torch environment (.cache/torch-env); without it the test says so and is skipped.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { makePairs } from '../helpers/runs';
import { torchPython } from '../../../src/node/torch-env';
import { readRunRecords } from '../../../src/node/run-folder';
import { StatusRecord } from '../../../src/protocol';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('cli-torch-stop');
const hasTorch = fs.existsSync(torchPython());

/** Runs dpo; `onLine` sees each stderr line with the child, to signal it. */
function dpo(args: string[], onLine: (line: string, kill: (s: NodeJS.Signals) => void) => void = () => undefined) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  readline.createInterface({ input: child.stderr }).on('line', (l) => {
    lines.push(l);
    onLine(l, (s) => child.kill(s));
  });
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines });
    }),
  );
}

const statuses = (dir: string) => readRunRecords(dir).records.filter((r): r is StatusRecord => r.kind === 'status');

describe('dpo train --engine torch and signals', { skip: hasTorch ? false : 'no torch environment (.cache/torch-env): run npx dpo setup-torch' }, () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('SIGTERM after the first checkpoint stops gracefully (exit 0, status stopped); --resume completes the run', async () => {
    const model = tinyModel(path.join(root, 'model'), { layers: 1, dModel: 16, heads: 2, maxPositions: 32, seed: 1 });
    const data = makePairs(path.join(root, 'pairs.jsonl'), 16);
    const out = path.join(root, 'run');
    let signalled = false;
    const flags = ['--max-steps', '60', '--save-steps', '2', '--eval-steps', '30', '--eval-fraction', '0.25', '--batch-size', '2', '--seed', '3'];
    const first = await dpo(['train', '--engine', 'torch', '--model', model, '--data', data, '--out', out, ...flags], (line, kill) => {
      if (!signalled && /^checkpoint: step \d+/.test(line)) {
        signalled = true;
        kill('SIGTERM');
      }
    });
    assert.ok(signalled, `no checkpoint line was seen:\n${first.lines.join('\n')}`);
    assert.equal(first.code, 0, first.lines.join('\n'));
    assert.match(first.lines.join('\n'), /stopped at step (\d+)\/60; resume: dpo train --resume/);
    const stopped = statuses(out).at(-1)!;
    assert.equal(stopped.status, 'stopped');
    assert.ok(stopped.step < 60, `stopped at ${stopped.step}`);
    assert.ok(fs.existsSync(path.join(out, 'checkpoints', `step-${stopped.step}`, 'trainer_state.json')), 'the stop wrote its checkpoint');
    assert.doesNotMatch(fs.readFileSync(path.join(out, 'log.txt'), 'utf8'), /Broken pipe/);

    const resumed = await dpo(['train', '--resume', out]);
    assert.equal(resumed.code, 0, resumed.lines.join('\n'));
    assert.equal(statuses(out).at(-1)!.status, 'completed');
    assert.equal(statuses(out).at(-1)!.step, 60);
    assert.ok(fs.existsSync(path.join(out, 'final')));
  });
});
