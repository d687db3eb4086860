// The bundles in dist/ that the VSIX ships (scripts/bundle.mjs): the CLI and the engine process run
// from there without out/ or node_modules beside them, find the package root (version, examples)
// and load the tfjs wasm binaries copied next to them.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../helpers/fixtures';

const ROOT = path.resolve(__dirname, '../../../..');
const DIST = path.join(ROOT, 'dist');

/** A copy of what the VSIX holds of dist/ plus package.json, in a folder with no node_modules above it. */
function shipped(): string {
  assert.ok(fs.existsSync(path.join(DIST, 'cli.js')), 'dist/ is missing: run `npm run build` (it bundles)');
  const dir = path.join(tempDir('bundle'), 'extension');
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  for (const f of fs.readdirSync(DIST).filter((n) => /\.(js|wasm)$/.test(n))) fs.copyFileSync(path.join(DIST, f), path.join(dir, 'dist', f));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

describe('bundles (dist/)', () => {
  it('the CLI bundle prints the version and makes a tiny model, with no node_modules in reach', () => {
    const dir = shipped();
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['-e', `require(${JSON.stringify(path.join(dir, 'dist', 'cli.js'))}).main(process.argv).then((c) => (process.exitCode = c))`, 'dpo', ...args],
        {
          encoding: 'utf8',
          cwd: dir,
        },
      );
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    assert.equal(cli('--version').stdout.trim(), version);
    const made = cli('make-tiny-model', '--out', path.join(dir, 'm'));
    assert.equal(made.status, 0, made.stderr);
    assert.ok(fs.existsSync(path.join(dir, 'm', 'model.safetensors')));
  });

  it('the engine bundle starts on the wasm backend and says so in its handshake', async () => {
    const dir = shipped();
    const child = spawn(process.execPath, [path.join(dir, 'dist', 'engine.js'), '--backend', 'wasm'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
    const hello = JSON.parse(first) as { type: string; params: { backend: string } };
    assert.equal(hello.type, 'engine/didStart', stderr);
    assert.match(JSON.stringify(hello.params), /wasm/);
  });
});
