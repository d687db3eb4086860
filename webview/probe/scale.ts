// The probe heatmap's numbers: one colour scale for both answers, a token's colour on it, and how
// the scale's ends are printed. Pure (no DOM), so unit tests load it.
import type { ProbeScore } from '../../src/protocol/messages';

/** Largest |reward| over every token of both answers, rounded up to two significant digits. */
export function sharedScale(scores: (ProbeScore | undefined)[]): number {
  const max = Math.max(0, ...scores.flatMap((s) => (s ? s.tokens.map((t) => Math.abs(t.reward)) : [])));
  if (!(max > 0)) return 0;
  const unit = 10 ** (Math.floor(Math.log10(max)) - 1);
  return Number((Math.ceil(max / unit - 1e-9) * unit).toPrecision(2));
}

/** A token's background: green where tuning made it likelier, red where less; stronger with size. */
export function heat(reward: number, scale: number): string {
  const a = scale > 0 ? Math.min(1, Math.abs(reward) / scale) : 0;
  const v = reward >= 0 ? '--vscode-charts-green' : '--vscode-charts-red';
  return `color-mix(in srgb, var(${v}) ${Math.round(a * 70)}%, transparent)`;
}

/** A reward as the legend and the read-out print it: signed, three significant digits. */
export function signed(x: number): string {
  const s =
    Math.abs(x) >= 1e-3 || x === 0
      ? Math.abs(x)
          .toPrecision(3)
          .replace(/\.?0+$/, '')
      : Math.abs(x).toExponential(2);
  return `${x < 0 ? '−' : x > 0 ? '+' : ''}${s}`;
}
