// Bundles the webviews (browser code, one file each) into out/webview with esbuild, and their CSS
// (the metrics panel's includes uPlot's own stylesheet).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

mkdirSync('out/webview', { recursive: true });
const common = {
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  outdir: 'out/webview',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: {
    probe: 'webview/probe/main.ts',
    metrics: 'webview/metrics/main.ts',
    labeling: 'webview/labeling/main.ts',
    evaluate: 'webview/evaluate/main.ts',
  },
  define: { __DPO_BENCH__: 'false' },
});
// The benchmark's bundle (bench/chart.ts) exposes the chart's frame counters on window; the product's does not.
// It goes to out/webview-bench, outside what the VSIX lets in (.vscodeignore: out/webview/*.js).
await build({ ...common, outdir: 'out/webview-bench', entryPoints: { 'metrics-bench': 'webview/metrics/main.ts' }, define: { __DPO_BENCH__: 'true' } });
writeFileSync('out/webview/labeling.css', readFileSync('webview/labeling/labeling.css'));
writeFileSync('out/webview/probe.css', readFileSync('webview/probe/probe.css'));
writeFileSync(
  'out/webview/evaluate.css',
  readFileSync('node_modules/uplot/dist/uPlot.min.css', 'utf8') + '\n' + readFileSync('webview/evaluate/evaluate.css', 'utf8'),
);
writeFileSync(
  'out/webview/metrics.css',
  readFileSync('node_modules/uplot/dist/uPlot.min.css', 'utf8') + '\n' + readFileSync('webview/metrics/metrics.css', 'utf8'),
);
