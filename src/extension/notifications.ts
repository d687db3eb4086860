// What a run tells the user outside the status bar: progress notifications while it loads or
// precomputes, health warnings (once each, mutable per run), and how it ended.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunManager, RunSession } from './run-manager';
import { toastLine } from '../node/failure-text';

const PREPARING = new Set(['loading', 'tokenizing', 'reference']);

export function watchRuns(runs: RunManager, output: vscode.OutputChannel): vscode.Disposable {
  const preparing = new Map<RunSession, { report: (text: string, increment?: number) => void; done: () => void }>();
  const reported = new Set<RunSession>();

  const progressSub = runs.onProgress(({ session, phase, done, total, message }) => {
    if (PREPARING.has(phase) && !preparing.has(session)) {
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `DPO ${path.basename(session.runDir)}`, cancellable: true },
        (progress, token) =>
          new Promise<void>((resolve) => {
            token.onCancellationRequested(() => void runs.stop(session));
            preparing.set(session, { report: (text) => progress.report({ message: text }), done: resolve });
          }),
      );
    }
    const p = preparing.get(session);
    if (!p) return;
    if (PREPARING.has(phase)) p.report(`${phase}${message ? ` ${message}` : ''}${total > 1 ? ` ${done}/${total}` : ''}`);
    else {
      p.done();
      preparing.delete(session);
    }
  });

  // One notification per run, of one line: the metrics panel lists every warning with its details,
  // and the output channel keeps each in full.
  const notified = new WeakSet<RunSession>();
  const warnSub = runs.onWarning(({ session, warning }) => {
    output.appendLine(`warning (${path.basename(session.runDir)}, step ${warning.step}): ${warning.message}`);
    if (session.mutedWarnings.has(warning.code) || notified.has(session)) return;
    notified.add(session);
    const head = toastLine(warningHead(warning.message));
    void vscode.window
      .showWarningMessage(`Run ${path.basename(session.runDir)}, step ${warning.step}: ${head} (details in the metrics panel)`, 'Open Metrics')
      .then((a) => {
        if (a === 'Open Metrics') void vscode.commands.executeCommand('dpo.openMetrics', { runDirs: [session.runDir] });
      });
  });

  const endSub = runs.onDidChange((session) => {
    if (session.isActive || reported.has(session)) return;
    reported.add(session);
    preparing.get(session)?.done();
    preparing.delete(session);
    void session.ended.then((end) => {
      const name = path.basename(session.runDir);
      output.appendLine(`run ${name}: ${end.status}${end.message ? `: ${end.message}` : ''}`);
      if (end.status === 'completed') {
        const review = session.mode === 'dpo' ? ['Review Suspicious Pairs'] : [];
        void vscode.window
          .showInformationMessage(
            `DPO run ${name} finished (${session.step} steps); the tuned model is in ${end.finalDir ? path.relative(path.dirname(session.runDir), end.finalDir) : `${name}/final`}`,
            'Reveal',
            ...review,
          )
          .then((a) => {
            if (a === 'Reveal' && end.finalDir) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(end.finalDir));
            // The pairs the tuned model disagrees with, as a review queue (review-command.ts).
            if (a === 'Review Suspicious Pairs' && end.finalDir) void vscode.commands.executeCommand('dpo.reviewSuspiciousPairs', { modelDir: end.finalDir });
          });
      } else if (end.status === 'stopped') {
        void vscode.window.showInformationMessage(`Run ${name} stopped at step ${session.step} with a checkpoint; "DPO: Resume Run" continues it.`);
      } else {
        void vscode.window
          .showErrorMessage(
            `Run ${name} ${end.status === 'killed' ? 'was killed' : 'failed'}${end.message ? `: ${toastLine(end.message)}` : ''}.`.replace(/\.\.$/, '.') +
              ' The run folder keeps everything up to its last checkpoint.',
            'Open Engine Log',
          )
          .then((a) => a && output.show(true));
      }
    });
  });

  return vscode.Disposable.from(progressSub, warnSub, endSub);
}

/** What happened, without the advice: the engines write "<what happened>: <advice>". */
export function warningHead(message: string): string {
  const at = message.indexOf(': ');
  return at > 0 && at <= 160 ? message.slice(0, at) : message;
}
