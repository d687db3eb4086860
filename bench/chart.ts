// The metrics panel's chart under load, in headless Chromium: time to first paint of a run with
// 100,000 points per series, and frames per second while 100,000 more points stream in (1,000
// per message, as fast as the page takes them). Uses the real bundle (out/webview/metrics.js).
// Usage: node out/bench/chart.js [--points 100000] [--batch 1000]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

/** The page's globals the benchmark touches (this file is compiled for Node, not the DOM). */
declare const window: { postMessage(m: unknown, origin: string): void; dpoMetricsStats?: { frames: number; firstPaintMs: number } };
declare function requestAnimationFrame(cb: () => void): number;

const ROOT = path.resolve(__dirname, '../..');

function record(step: number): Record<string, number> {
  const x = step / 1000;
  return {
    step,
    epoch: step / 5000,
    loss: 0.69 * Math.exp(-x / 30) + 0.05 * Math.sin(step),
    'rewards/chosen': x / 20 + 0.1 * Math.cos(step),
    'rewards/rejected': -x / 15 + 0.1 * Math.sin(step * 1.3),
    'rewards/margins': x / 8,
    'rewards/accuracies': Math.min(1, 0.5 + x / 200),
    'logps/chosen': -50 + x / 10,
    'logps/rejected': -55 - x / 5,
    grad_norm: 1 + Math.abs(Math.sin(step / 7)),
    learning_rate: 1e-6,
    tokens_per_second: 500 + (step % 50),
    elapsed_seconds: step * 0.2,
  };
}

async function main() {
  const { values } = parseArgs({ options: { points: { type: 'string', default: '100000' }, batch: { type: 'string', default: '1000' } } });
  const n = Number(values.points);
  const batch = Number(values.batch);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-chart-bench-'));
  // The benchmark build of the bundle: the product's does not put its frame counters on window.
  fs.copyFileSync(path.join(ROOT, 'out', 'webview-bench', 'metrics-bench.js'), path.join(dir, 'metrics.js'));
  fs.copyFileSync(path.join(ROOT, 'out', 'webview', 'metrics.css'), path.join(dir, 'metrics.css'));
  // The host's side of the protocol is played by the page itself; acquireVsCodeApi is a stub.
  fs.writeFileSync(
    path.join(dir, 'index.html'),
    `<!DOCTYPE html><html><head><link rel="stylesheet" href="metrics.css">
<style>body{--vscode-foreground:#ccc;--vscode-editor-background:#1e1e1e;background:#1e1e1e;width:1400px}</style></head>
<body><div id="app"></div><script>window.acquireVsCodeApi=()=>({postMessage(){},getState(){return undefined},setState(){}});</script>
<script src="metrics.js"></script></body></html>`,
  );
  const browser = await chromium.launch({
    executablePath: process.env.DPO_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`file://${path.join(dir, 'index.html')}`);
  await page.waitForFunction(() => (window as unknown as { dpoMetricsStats?: unknown }).dpoMetricsStats !== undefined);
  const initial = Array.from({ length: n }, (_, i) => record(i + 1));
  // Time to first paint: a finished run with n points per series arrives in one message.
  const firstPaint = await page.evaluate((records) => {
    const t0 = performance.now();
    window.postMessage(
      { type: 'metrics/didLoadRun', params: { run: { runDir: '/bench/run', name: 'bench', mode: 'dpo', status: 'running', records, warnings: [] } } },
      '*',
    );
    return new Promise<number>((resolve) => {
      const check = () => {
        const s = (window as unknown as { dpoMetricsStats: { firstPaintMs: number } }).dpoMetricsStats;
        if (s.firstPaintMs > 0) requestAnimationFrame(() => resolve(performance.now() - t0));
        else setTimeout(check, 0);
      };
      check();
    });
  }, initial);
  // Streaming: n more points in batches, one batch per animation frame, counting frames drawn.
  const streamed = await page.evaluate(
    async ({ start, total, size }) => {
      const rec = (step: number) => ({
        step,
        epoch: step / 5000,
        loss: 0.3 + 0.05 * Math.sin(step),
        'rewards/chosen': 1,
        'rewards/rejected': -1,
        'rewards/margins': 2,
        'rewards/accuracies': 0.9,
        'logps/chosen': -40,
        'logps/rejected': -60,
        grad_norm: 1,
        learning_rate: 1e-6,
        tokens_per_second: 500,
        elapsed_seconds: step * 0.2,
      });
      const stats = (window as unknown as { dpoMetricsStats: { frames: number } }).dpoMetricsStats;
      const frames0 = stats.frames;
      const t0 = performance.now();
      let next = start;
      const frameTimes: number[] = [];
      let last = performance.now();
      await new Promise<void>((resolve) => {
        const tick = () => {
          const now = performance.now();
          frameTimes.push(now - last);
          last = now;
          if (next >= start + total) return resolve();
          const records = [];
          for (let i = 0; i < size; i++) records.push(rec(next++));
          window.postMessage({ type: 'metrics/didAppend', params: { runDir: '/bench/run', records, status: 'running' } }, '*');
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      const seconds = (performance.now() - t0) / 1000;
      frameTimes.sort((a, b) => a - b);
      return {
        seconds,
        chartFrames: stats.frames - frames0,
        p50: frameTimes[Math.floor(frameTimes.length / 2)],
        p95: frameTimes[Math.floor(frameTimes.length * 0.95)],
      };
    },
    { start: n + 1, total: n, size: batch },
  );
  await browser.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    `metrics chart, ${n.toLocaleString('en-US')} points per series then ${n.toLocaleString('en-US')} more in batches of ${batch}, 8 charts, headless Chromium (software rendering), ${os.cpus()[0].model}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log('| measure | value |\n|---|---|');
  console.log(`| time to first paint (${n.toLocaleString('en-US')} points per series) | ${firstPaint.toFixed(0)} ms |`);
  console.log(`| frames per second while appending | ${(streamed.chartFrames / streamed.seconds).toFixed(1)} |`);
  console.log(`| frame time p50 / p95 while appending | ${streamed.p50.toFixed(1)} / ${streamed.p95.toFixed(1)} ms |`);
  console.log(`| points appended per second per series | ${(n / streamed.seconds).toFixed(0)} |`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
