// What every wasm kernel of ours checks about its two builds (scripts/build-kernels.mjs compiles each
// kernels/*.ts as plain SIMD and with relaxed SIMD's fused multiply-add): the FMA build by default,
// with Node 20's V8 flag turned on by src/engine/kernels/wasm-kernel.ts itself; the plain build in a
// child process that reruns the whole test file with DPO_KERNEL_BUILD=simd; and both modules inside
// the engine bundle the VSIX ships. Called inside the kernel's describe().
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../../..');

/** True in the child that reruns a kernel's checks on the plain SIMD build; it skips the build-only tests. */
export const PLAIN_CHILD = process.env.DPO_KERNEL_BUILD === 'simd';

export interface KernelUnderTest {
  /** How a failure names it ("the GEMM kernel"). */
  what: string;
  /** The build the wrapper loaded. */
  build: () => string;
  /** Its generated module's two base64 builds. */
  modules: string[];
  /** The test file (its __filename), rerun in the child. */
  file: string;
}

export function itChecksBothBuilds(k: KernelUnderTest): void {
  it("runs the FMA build by default, turning on Node 20's relaxed-SIMD flag itself", { skip: PLAIN_CHILD }, () => {
    // This process was started without --experimental-wasm-relaxed-simd: wasm-kernel.ts sets it.
    assert.ok(!process.execArgv.includes('--experimental-wasm-relaxed-simd'));
    assert.equal(k.build(), 'fma');
  });

  it('runs the plain SIMD build with DPO_KERNEL_BUILD=simd', { skip: !PLAIN_CHILD }, () => {
    assert.equal(k.build(), 'simd');
  });

  it('passes these checks on the plain SIMD build too, in a child with DPO_KERNEL_BUILD=simd', { skip: PLAIN_CHILD }, () => {
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', k.file], {
      encoding: 'utf8',
      // Without the runner's NODE_TEST_CONTEXT, which would make the child report in its binary form.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, DPO_KERNEL_BUILD: 'simd' },
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /✔ runs the plain SIMD build/);
    assert.match(run.stdout, /ℹ fail 0/);
  });

  it('rides in the engine bundle the VSIX ships (dist/engine.js), with no file to find at run time', { skip: PLAIN_CHILD }, () => {
    const bundle = path.join(ROOT, 'dist', 'engine.js');
    assert.ok(fs.existsSync(bundle), 'dist/ is missing: run `npm run build` (it bundles)');
    const text = fs.readFileSync(bundle, 'utf8');
    for (const b64 of k.modules) assert.ok(text.includes(b64), `dist/engine.js lacks ${k.what}: run \`npm run build\``);
  });
}
