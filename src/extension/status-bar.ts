// The status bar item of the newest active run: step/total, loss and ETA; a click opens the
// metrics panel once it exists, the engine log until then.
import * as vscode from 'vscode';
import { formatDuration } from '../protocol';
import { RunManager, RunSession } from './run-manager';

function eta(seconds: number | undefined): string {
  const d = formatDuration(seconds);
  return d ? ` ETA ${d}` : '';
}

export function describeSession(s: RunSession): string {
  if (s.status === 'starting') return 'DPO: starting…';
  // The engine's own words and count ("precomputing reference log-probs 12/30…"), as the metrics panel shows them.
  if (s.phase !== 'training' && s.step === 0) return `DPO: ${s.startingText ?? `${s.phase}…`}`;
  const loss = s.lastMetrics?.values.loss !== undefined ? ` loss ${s.lastMetrics.values.loss.toFixed(4)}` : '';
  const stopping = s.status === 'stopping' ? ' (stopping)' : '';
  return `DPO ${s.step}/${s.totalSteps}${loss}${eta(s.etaSeconds())}${stopping}`;
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('dpo.run', vscode.StatusBarAlignment.Left, 50);
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly runs: RunManager,
    clickCommand: string,
  ) {
    this.item.name = 'DPO run';
    this.item.command = clickCommand;
    this.sub = runs.onDidChange(() => this.update());
  }

  /** The text shown, for tests and for the tooltip. */
  get text(): string {
    return this.item.text;
  }

  get tooltip(): string {
    return typeof this.item.tooltip === 'string' ? this.item.tooltip : '';
  }

  private update(): void {
    const active = this.runs.active();
    const s = active[active.length - 1];
    if (!s) {
      this.item.hide();
      return;
    }
    this.item.text = `$(pulse) ${describeSession(s)}`;
    const on = s.engineLabel ?? s.engineName;
    this.item.tooltip = `${s.mode.toUpperCase()} run in ${s.runDir} · ${on}${active.length > 1 ? ` (+${active.length - 1} more)` : ''}`;
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
