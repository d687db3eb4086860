// The reward-vs-KL frontier as an SVG, screenshotted to PNG with Debian's Chromium (the same
// browser the webview tests use; DPO_CHROMIUM overrides its path).
import * as fs from 'node:fs';
import { chromium } from 'playwright-core';
import { QualityResult } from './pipeline';

const DPO_COLOURS = ['#1f6feb', '#2da44e', '#8250df', '#bf3989', '#0a7d8c', '#9a6700'];
const p2label = (p: QualityResult['policies'][number]) => (p.beta !== undefined ? `β=${p.beta}` : p.name);

export function frontierSvg(r: QualityResult, width = 720, height = 480): string {
  const m = { left: 70, right: 30, top: 40, bottom: 60 };
  const ps = r.policies;
  const xs = ps.flatMap((p) => [p.kl - p.klSe, p.kl + p.klSe, 0]);
  const ys = ps.flatMap((p) => [p.reward - p.rewardSe, p.reward + p.rewardSe]);
  const pad = (lo: number, hi: number) => [lo - (hi - lo) * 0.08, hi + (hi - lo) * 0.08 || lo + 1];
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const X = (v: number) => m.left + ((v - x0) / (x1 - x0)) * (width - m.left - m.right);
  const Y = (v: number) => height - m.bottom - ((v - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const ticks = (lo: number, hi: number) => {
    const step = 10 ** Math.floor(Math.log10((hi - lo) / 5));
    const s = [1, 2, 5, 10].map((k) => k * step).find((k) => (hi - lo) / k <= 8)!;
    const out: number[] = [];
    for (let v = Math.ceil(lo / s) * s; v <= hi; v += s) out.push(Number(v.toFixed(10)));
    return out;
  };
  const el: string[] = [];
  for (const t of ticks(x0, x1))
    el.push(
      `<line x1="${X(t)}" x2="${X(t)}" y1="${m.top}" y2="${height - m.bottom}" class="grid"/><text x="${X(t)}" y="${height - m.bottom + 18}" text-anchor="middle">${t}</text>`,
    );
  for (const t of ticks(y0, y1))
    el.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${Y(t)}" y2="${Y(t)}" class="grid"/><text x="${m.left - 8}" y="${Y(t) + 4}" text-anchor="end">${t}</text>`,
    );
  // One path per run: from the SFT model through the end of each epoch; the last point is labeled.
  const sft = ps.find((p) => p.method === 'SFT');
  const runs = [...new Set(ps.filter((p) => p.method !== 'SFT').map((p) => p.name))];
  // One colour per β (several seeds of one β share it).
  const betas = [...new Set(ps.flatMap((p) => (p.beta === undefined ? [] : [p.beta])))].sort((a, b) => a - b);
  const colour = (name: string) => {
    const beta = ps.find((p) => p.name === name)?.beta;
    return name.startsWith('DPO') && beta !== undefined ? DPO_COLOURS[betas.indexOf(beta) % DPO_COLOURS.length] : '#d9480f';
  };
  runs.forEach((name) => {
    const points = [...(sft ? [sft] : []), ...ps.filter((p) => p.name === name)];
    const c = colour(name);
    el.push(
      `<polyline fill="none" stroke="${c}" stroke-width="1.5" stroke-opacity="0.7" points="${points.map((p) => `${X(p.kl)},${Y(p.reward)}`).join(' ')}"/>`,
    );
    for (const p of points.slice(sft ? 1 : 0)) {
      el.push(`<line class="err" x1="${X(p.kl - p.klSe)}" x2="${X(p.kl + p.klSe)}" y1="${Y(p.reward)}" y2="${Y(p.reward)}"/>`);
      el.push(`<line class="err" x1="${X(p.kl)}" x2="${X(p.kl)}" y1="${Y(p.reward - p.rewardSe)}" y2="${Y(p.reward + p.rewardSe)}"/>`);
      el.push(
        p.method === 'DPO'
          ? `<circle fill="${c}" cx="${X(p.kl)}" cy="${Y(p.reward)}" r="5"/>`
          : `<rect fill="${c}" x="${X(p.kl) - 5}" y="${Y(p.reward) - 5}" width="10" height="10"/>`,
      );
    }
    const last = points[points.length - 1];
    const below = last.method !== 'DPO'; // preferred-FT sits among the low-KL DPO points: label it underneath
    el.push(`<text x="${X(last.kl) + 8}" y="${Y(last.reward) + (below ? 18 : -8)}" fill="${c}">${p2label(last)}</text>`);
  });
  if (sft) el.push(`<circle fill="#444" cx="${X(sft.kl)}" cy="${Y(sft.reward)}" r="6"/><text x="${X(sft.kl) + 9}" y="${Y(sft.reward) + 16}">SFT</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<style>.grid{stroke:#e4e4e4}.err{stroke:#999}text{paint-order:stroke;stroke:white;stroke-width:3px}</style>
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">True reward vs KL to the SFT reference (held-out prompts)</text>
${el.join('\n')}
<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" stroke="#333"/>
<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}" stroke="#333"/>
<text x="${(width + m.left) / 2}" y="${height - 18}" text-anchor="middle">sequence KL(πθ ‖ πref), nats (mean of log πθ − log πref over samples)</text>
<text transform="translate(18 ${(height - m.bottom + m.top) / 2}) rotate(-90)" text-anchor="middle">mean true reward (lexicon score)</text>
<g transform="translate(${width - m.right - 235} ${height - m.bottom - 62})"><rect width="230" height="56" fill="white" stroke="#ccc"/>
<circle fill="${DPO_COLOURS[0]}" cx="14" cy="14" r="5"/><text x="26" y="18">DPO, one colour per β</text>
<rect fill="#d9480f" x="9" y="25" width="10" height="10"/><text x="26" y="34">preferred-FT</text>
<circle fill="#444" cx="14" cy="46" r="5"/><text x="26" y="50">SFT (reference); a point per epoch</text></g>
</svg>`;
}

export async function renderFrontier(r: QualityResult, pngFile: string): Promise<void> {
  const svg = frontierSvg(r);
  fs.writeFileSync(pngFile.replace(/\.png$/, '.svg'), svg);
  const browser = await chromium.launch({
    executablePath: process.env.DPO_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 720, height: 480 } });
    await page.setContent(`<body style="margin:0">${svg}</body>`);
    await page.screenshot({ path: pngFile });
  } finally {
    await browser.close();
  }
}
