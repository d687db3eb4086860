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
  // As .vscodeignore lets in: dist/*.js, dist/*.wasm and dist/wasm-out/*.js (the threaded build's glue).
  fs.cpSync(DIST, path.join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
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
    // Two threads: the threaded wasm build loads its Emscripten glue from dist/wasm-out.
    const child = spawn(process.execPath, [path.join(dir, 'dist', 'engine.js'), '--backend', 'wasm', '--threads', '2'], {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // An engine that dies before its handshake ends the wait with what it printed.
    const first = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', () => resolve(`{"type":"exited","params":{}}`));
    });
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
    const hello = JSON.parse(first) as { type: string; params: { backend: string } };
    assert.equal(hello.type, 'engine/didStart', stderr);
    assert.match(JSON.stringify(hello.params), /wasm/);
    assert.match(JSON.stringify(hello.params), /2 threads/);
  });
});
