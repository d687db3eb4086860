// The metrics panel's state (browser side): the runs shown and their columns, the persisted UI
// settings, and the helpers every part of the panel uses (messages to the host, theme colours,
// number formatting). charts.ts draws the charts, chrome.ts the rest, main.ts wires them up.
import type uPlot from 'uplot';
import type { HealthWarning } from '../../src/protocol/run';
import type { MetricsRun, MetricsToHost, PanelRunStatus, RunProgress } from '../../src/protocol/webview';
import { Ema } from './smoothing';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

export { CHARTS } from './objective-charts';
export type { ChartDef } from './objective-charts';

/** One run's columns, grown in place as lines arrive. */
export interface RunData {
  meta: MetricsRun;
  /** The run's place in the palette: its hue in every chart, the legend and the tooltip (resolved per theme). */
  colorIndex: number;
  steps: number[];
  times: number[];
  cols: Map<string, number[]>;
  evalSteps: number[];
  evalCols: Map<string, number[]>;
  smooth: Map<string, { ema: Ema; values: number[] }>;
  /** Metrics with at least one finite value (train / eval), kept as lines arrive. */
  seen: Set<string>;
  seenEval: Set<string>;
  warnings: HealthWarning[];
  status: PanelRunStatus;
  totalSteps?: number;
  etaSeconds?: number;
  /** Stopped (or crashed) with a complete checkpoint and no engine running it: Resume continues it. */
  resumable: boolean;
  /** Before the first training step: what the engine is doing. */
  starting?: string;
  /** While this window's engine runs it: the phase and how far along. */
  progress?: RunProgress;
  /** Step 0's evaluation is the reference against itself (ties): its accuracy is not drawn as a 0. */
  referenceAt0: boolean;
}

export interface PersistedState {
  runDirs: string[];
  xAxis: 'step' | 'time';
  smoothing: number;
}

export const saved = vscode.getState() as PersistedState | undefined;
export const ui: PersistedState = { runDirs: saved?.runDirs ?? [], xAxis: saved?.xAxis ?? 'step', smoothing: saved?.smoothing ?? 0.6 };
export const runs = new Map<string, RunData>();
export const charts = new Map<string, uPlot>();
export const dirty = new Set<string>();
/** Frames drawn, for the benchmark. */
export const stats = { frames: 0, firstPaintMs: -1 };

export function send<K extends keyof MetricsToHost>(type: K, params: MetricsToHost[K]): void {
  vscode.postMessage({ type, params });
}

export function persist(): void {
  ui.runDirs = [...runs.keys()];
  vscode.setState(ui);
}

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export const PALETTE = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
export const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

export function colorFor(i: number): string {
  return cssVar(PALETTE[i % PALETTE.length], FALLBACK[i % FALLBACK.length]);
}

/** A run's colour in the current theme. */
export function runColor(run: RunData): string {
  return colorFor(run.colorIndex);
}

/** The first palette place no shown run holds, so a run keeps its colour while others come and go. */
export function freeColorIndex(): number {
  const used = new Set([...runs.values()].map((r) => r.colorIndex));
  let i = 0;
  while (used.has(i)) i++;
  return i;
}

export function alpha(color: string, a: number): string {
  return `color-mix(in srgb, ${color} ${Math.round(a * 100)}%, transparent)`;
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

export function lowerBound(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
