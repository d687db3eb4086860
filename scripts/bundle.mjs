// Bundles what the VSIX runs (esbuild, platform node) into dist/: the extension host (one file, so
// activation loads one module instead of ~40), the engine process, the CLI, and the tokenizer
// worker, plus the tfjs wasm binaries, which the wasm backend loads from beside the bundle.
// The native and WebGPU backends stay external: they are optionalDependencies, absent from the
// VSIX, and the engine reports them as not installed and uses wasm.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist', { recursive: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outdir: 'dist',
  logLevel: 'warning',
  // Keep names readable in stack traces the engine log shows to users.
  minifyWhitespace: true,
  minifySyntax: true,
  // For F5 debugging (.vscode/launch.json); .vscodeignore keeps the maps out of the VSIX.
  sourcemap: true,
};
await build({ ...common, entryPoints: { extension: 'src/extension/extension.ts' }, external: ['vscode'] });
await build({
  ...common,
  entryPoints: { engine: 'src/engine/main.ts', cli: 'src/cli/main.ts', 'untrusted-worker': 'src/engine/tokenizer/untrusted-worker.ts' },
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu', 'webgpu'],
});
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) copyFileSync(`${wasmDir}/${f}`, `dist/${f}`);
// The threaded wasm build's Emscripten glue (pthread worker script, module factory), which
// src/engine/wasm-threads.ts loads by path at run time.
mkdirSync('dist/wasm-out', { recursive: true });
for (const f of ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js']) {
  copyFileSync(`node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/${f}`, `dist/wasm-out/${f}`);
}
