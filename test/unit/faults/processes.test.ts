// Fault tests that need real processes (issue #17): the engine outlives bad lines, an engine run
// without output_dir lands beside its data, SIGTERM stops `dpo train` like Ctrl-C, and a model whose
// tokenizer outgrows its vocab_size is named.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { tempDir, tinyModel, useTestBackend, writeJsonl } from '../helpers/fixtures';
import { makePairs, testRun } from '../helpers/runs';
import { EngineMessage, parseEngineMessage, requestLine } from '../../../src/protocol';

const MAIN = path.resolve(__dirname, '../../../src/engine/main.js');
const DPO = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('faults-proc');
const model = tinyModel(path.join(root, 'model'), { layers: 1, dModel: 16, heads: 2, maxPositions: 32, seed: 1 });
const data = makePairs(path.join(root, 'pairs.jsonl'), 16);

describe('faults across processes', () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  before(useTestBackend);

  it('the engine answers prototype-named types and a 20 MB line with errors, then keeps serving', async () => {
    const child = spawn(process.execPath, [MAIN, '--backend', 'wasm'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const messages: EngineMessage[] = [];
    let notify = () => {};
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      const p = parseEngineMessage(l);
      assert.ok(p.ok, l);
      messages.push(p.value);
      notify();
    });
    const waitFor = (pred: (m: EngineMessage) => boolean) =>
      new Promise<EngineMessage>((resolve) => {
        const check = () => {
          const m = messages.find(pred);
          if (m) resolve(m);
        };
        notify = check;
        check();
      });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (const [i, type] of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'].entries())
      child.stdin.write(JSON.stringify({ kind: 'request', id: i + 1, type, params: {} }) + '\n');
    child.stdin.write('{"kind": "request", "id": 9, "type": "run/stop", "params": {"x": "' + 'y'.repeat(20 * 1024 * 1024) + '"}}\n');
    child.stdin.write(requestLine(10, 'run/start', { mode: 'dpo', config: { model, data, max_steps: 1, eval_fraction: 0, batch_size: 2 } }));
    const started = await waitFor((m) => m.kind === 'reply' && m.id === 10);
    const finished = await waitFor((m) => m.kind === 'event' && (m.type === 'run/didFinish' || m.type === 'run/didFail'));
    child.stdin.end();
    assert.equal(await exited, 0);
    const rejects = messages
      .filter((m) => m.kind === 'event' && m.type === 'engine/didReject')
      .map((m) => (m as { params: { message: string } }).params.message);
    assert.equal(rejects.filter((r) => /unknown request type/.test(r)).length, 5);
    assert.ok(
      rejects.some((r) => /line of 2097\d{4} bytes is longer than the limit/.test(r)),
      rejects.join('\n'),
    );
    assert.ok(started.kind === 'reply' && started.ok);
    const runDir = (started as { result: { runDir: string } }).result.runDir;
    assert.match(runDir, new RegExp(`^${root}/\\.dpo/runs/dpo-`), "beside the data, not in the engine's working folder");
    assert.equal((finished as { type: string }).type, 'run/didFinish');
    assert.ok(fs.existsSync(path.join(runDir, 'final', 'model.safetensors')));
  });

  it('SIGTERM stops `dpo train` like Ctrl-C: the step finishes, a checkpoint is written, exit 0', async () => {
    const out = path.join(root, 'term');
    const child = spawn(
      process.execPath,
      [DPO, 'train', '--model', model, '--data', data, '--out', out, '--max-steps', '500', '--batch-size', '2', '--eval-fraction', '0', '--backend', 'wasm'],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const metrics = path.join(out, 'metrics.jsonl');
    while (!fs.existsSync(metrics) || fs.readFileSync(metrics, 'utf8').split('\n').length < 3) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const ckpts = fs.readdirSync(path.join(out, 'checkpoints')).filter((d) => d.startsWith('step-'));
    assert.equal(ckpts.length, 1);
    assert.ok(fs.existsSync(path.join(out, 'checkpoints', ckpts[0], 'trainer_state.json')));
    assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'the lock is released');
  });

  it('token ids beyond the model vocab_size name both files and the data line', async () => {
    const dir = path.join(root, 'small-vocab');
    const big = tinyModel(path.join(root, 'big-tok'), { layers: 1, dModel: 16, heads: 2, maxPositions: 32, words: ['hello'] });
    tinyModel(path.join(dir, 'model'), { layers: 1, dModel: 16, heads: 2, maxPositions: 32, seed: 1 });
    fs.copyFileSync(path.join(big, 'tokenizer.json'), path.join(dir, 'model', 'tokenizer.json'));
    writeJsonl(path.join(dir, 'pairs.jsonl'), [
      { prompt: 'a', chosen: ' b', rejected: ' c' },
      { prompt: 'say', chosen: ' hello', rejected: ' no' },
    ]);
    await assert.rejects(
      testRun(dir, 'run', { eval_fraction: 0 }),
      /pairs\.jsonl:2: token id 26\d is beyond the model's vocabulary: .*model\/config\.json has vocab_size 259 but .*model\/tokenizer\.json has 26\d tokens/,
    );
  });
});
