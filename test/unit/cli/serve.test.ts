// `dpo serve` as a command: a run folder is served from its final/ under the run's name, the address
// is printed on stdout once ready, and SIGTERM ends it with exit 0.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { tempDir, tinyModel } from '../helpers/fixtures';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');

describe('dpo serve', () => {
  it('prints "serving <run> at <url>", answers, and exits 0 on SIGTERM', async () => {
    const run = path.join(tempDir('cli-serve'), 'run-demo');
    tinyModel(path.join(run, 'final'));
    fs.writeFileSync(path.join(run, 'metrics.jsonl'), '');
    fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ engine: 'tfjs' }));
    const child = spawn(process.execPath, [BIN, 'serve', '--model', run, '--port', '0', '--api-key', 'k1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DPO_BACKEND: 'wasm' },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        readline.createInterface({ input: child.stdout }).once('line', resolve);
        child.once('close', () => reject(new Error(`dpo serve exited before it was ready: ${stderr}`)));
      });
      const m = /^serving run-demo at (http:\/\/127\.0\.0\.1:\d+\/v1)$/.exec(line);
      assert.ok(m, line);
      const models = await fetch(`${m[1]}/models`, { headers: { Authorization: 'Bearer k1' } });
      assert.equal(((await models.json()) as { data: { id: string }[] }).data[0].id, 'run-demo');
      const r = await fetch(`${m[1]}/completions`, {
        method: 'POST',
        headers: { Authorization: 'Bearer k1' },
        body: JSON.stringify({ model: 'run-demo', prompt: 'ab', max_tokens: 4, seed: 1 }),
      });
      assert.equal(r.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /stopping \(SIGTERM\)/);
    } finally {
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
  });
});
