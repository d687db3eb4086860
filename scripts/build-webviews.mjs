// Bundles the webviews (browser code, one file each) into out/webview with esbuild.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('out/webview', { recursive: true });
await build({
  entryPoints: { probe: 'webview/probe/main.ts' },
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  outdir: 'out/webview',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
copyFileSync('webview/probe/probe.css', 'out/webview/probe.css');
