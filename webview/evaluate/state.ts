// The Evaluate panel's state (browser side): the evaluations the host sent, what the user chose
// (judge, chart y, sort, selection, added folders), kept across hide/show with setState, and the
// small DOM helpers the other files share.
import type { EvalPairView, EvaluateToHost, EvaluationView } from '../../src/protocol/webview-evaluate';
import type { FrontierY, SortKey } from './model';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

export interface UiState {
  judge?: string;
  y: FrontierY;
  sort: SortKey;
  descending: boolean;
  /** The selected evaluation's folder. */
  selected?: string;
  /** Evaluation folders outside the runs, added with "Open Evaluation Folder…". */
  extraFolders: string[];
}

const saved = vscode.getState() as Partial<UiState> | undefined;
export const ui: UiState = {
  judge: saved?.judge,
  y: saved?.y === 'winRate' ? 'winRate' : 'reward',
  sort: saved?.sort ?? 'series',
  descending: saved?.descending ?? false,
  selected: saved?.selected,
  extraFolders: Array.isArray(saved?.extraFolders) ? saved.extraFolders.filter((f) => typeof f === 'string') : [],
};

export const data: { evaluations: EvaluationView[]; pairs?: { dir: string; pairs: EvalPairView[]; total: number } } = { evaluations: [] };

export function persist(): void {
  vscode.setState(ui);
}

export function send<K extends keyof EvaluateToHost>(type: K, params: EvaluateToHost[K]): void {
  vscode.postMessage({ type, params });
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const PALETTE = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

/** A series' colour in the current theme (by its place in the sorted series list). */
export function colorFor(i: number): string {
  return cssVar(PALETTE[i % PALETTE.length], FALLBACK[i % FALLBACK.length]);
}

/** Says something to screen readers once (a key press's result), never per frame. */
export function announce(text: string): void {
  $('announce').textContent = text;
}
