// Extension entry point: registrations only. The engine runs in child processes (run-manager.ts);
// nothing here loads tfjs. Activation happens on the DPO commands, and stays small.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS, CommandContext } from './commands';
import { newTrainingRun, resumeRun, showRuns, startRunFromConfig, stopRun } from './run-commands';
import { makeTinyModel, probeModel } from './model-commands';
import { exportMetrics, labelPairs, openMetrics } from './view-commands';
import { registerTensorBoardCommand } from './tensorboard-command';
import { setUpTorch } from './setup-torch-command';
import { exportLaunchScript } from './export-launch-command';
import { EXPORT_GGUF_COMMAND, exportGguf } from './export-gguf-command';
import { CONVERT_COMMAND, convertPreferences } from './convert-command';
import type { ConvertDirection } from '../node/convert-unpaired';
import { registerServeCommand } from './serve-command';
import { evaluateModel, showEvaluation } from './evaluate-command';
import { EVAL_COMMANDS, EvaluatePanel } from './evaluate-panel';
import { MetricsPanel } from './metrics-panel';
import { openMetricsOnRunStart } from './metrics-autoopen';
import { ProbePanel } from './probe-panel';
import { RunManager } from './run-manager';
import { RunStatusBar } from './status-bar';
import { watchRuns } from './notifications';
import { readSettings } from './settings';
import { LABEL_VIEW_TYPE, LabelEditorProvider } from './labeling/label-editor';
import { LARGE_LABEL_VIEW_TYPE, LargeLabelEditorProvider } from './labeling/large-editor';
import { REVIEW_COMMAND, reviewSuspiciousPairs, writeNoiseAwareConfig } from './review-command';
import { SUGGEST_CONFIG_COMMAND } from './labeling/review-queue';
import { useTorchEnvStorage } from '../node/torch-env';

export interface DpoExtensionApi {
  runs: RunManager;
  probePanels: ProbePanel[];
  statusBar: RunStatusBar;
  /** Milliseconds activate() took. */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): DpoExtensionApi {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('DPO Engine');
  // A new PyTorch environment goes to global storage, which survives updates of the versioned
  // extension folder (src/node/torch-env.ts has the whole search order).
  useTorchEnvStorage(context.globalStorageUri.scheme === 'file' ? context.globalStorageUri.fsPath : undefined);
  // The engine process and the extension host are bundled side by side into dist/ (scripts/bundle.mjs).
  const enginePath = path.join(context.extensionPath, 'dist', 'engine.js');
  const runs = new RunManager({
    enginePath,
    log: (line) => output.appendLine(line),
    settings: () => {
      const s = readSettings();
      return { nodePath: s.nodePath, backend: s.backend, stopTimeoutSeconds: s.stopTimeoutSeconds, engine: s.engine };
    },
  });
  // The status bar opens the metrics of the run it shows.
  const statusBar = new RunStatusBar(runs, COMMANDS.openMetrics);
  const probePanels: ProbePanel[] = [];
  const ctx: CommandContext = {
    runs,
    output,
    cliPath: path.join(context.extensionPath, 'bin', 'dpo.js'),
    extensionUri: context.extensionUri,
    enginePath,
    probePanels,
  };
  const labelProblems = vscode.languages.createDiagnosticCollection('dpo-labeling');
  const largeLabelEditor = new LargeLabelEditorProvider(context.extensionUri, labelProblems, context.storageUri ?? context.globalStorageUri);
  const register = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown);
  context.subscriptions.push(
    output,
    runs,
    statusBar,
    watchRuns(runs, output),
    openMetricsOnRunStart(runs, context.extensionUri, (l) => output.appendLine(l)),
    register(COMMANDS.newTrainingRun, (args?: Parameters<typeof newTrainingRun>[1]) => newTrainingRun(ctx, args)),
    register(COMMANDS.startRunFromConfig, (target?: vscode.Uri | string) => startRunFromConfig(ctx, target)),
    register(COMMANDS.stopRun, (runDir?: string) => stopRun(ctx, runDir)),
    register(COMMANDS.resumeRun, (runDir?: string) => resumeRun(ctx, runDir)),
    register(COMMANDS.showRuns, () => showRuns(ctx)),
    register(COMMANDS.makeTinyModel, (args?: Parameters<typeof makeTinyModel>[1]) => makeTinyModel(ctx, args)),
    register(COMMANDS.openEngineLog, () => output.show(true)),
    register(COMMANDS.probeModel, (args?: Parameters<typeof probeModel>[1]) => probeModel(ctx, args)),
    register(COMMANDS.openMetrics, (args?: Parameters<typeof openMetrics>[1]) => openMetrics(ctx, args)),
    register(COMMANDS.exportMetrics, (args?: Parameters<typeof exportMetrics>[1]) => exportMetrics(ctx, args)),
    register(COMMANDS.labelPairs, (target?: vscode.Uri | string) => labelPairs(target)),
    register(CONVERT_COMMAND, (target?: vscode.Uri | string, direction?: ConvertDirection) =>
      convertPreferences(ctx.cliPath, (l) => output.appendLine(l), target, direction),
    ),
    register(REVIEW_COMMAND, (args?: Parameters<typeof reviewSuspiciousPairs>[2]) => reviewSuspiciousPairs(ctx.cliPath, (l) => output.appendLine(l), args)),
    register(SUGGEST_CONFIG_COMMAND, (args?: Parameters<typeof writeNoiseAwareConfig>[0]) => writeNoiseAwareConfig(args)),
    register(COMMANDS.setupTorch, (args?: Parameters<typeof setUpTorch>[1]) => setUpTorch(ctx, args)),
    register(COMMANDS.exportLaunchScript, (args?: Parameters<typeof exportLaunchScript>[1]) => exportLaunchScript(ctx, args)),
    register(EXPORT_GGUF_COMMAND, (target?: Parameters<typeof exportGguf>[1]) => exportGguf(ctx, target)),
    registerServeCommand(ctx),
    registerTensorBoardCommand(ctx),
    register(EVAL_COMMANDS.evaluateModel, (args?: Parameters<typeof evaluateModel>[2]) => evaluateModel(ctx, context.secrets, args)),
    register(EVAL_COMMANDS.showEvaluation, (args?: Parameters<typeof showEvaluation>[1]) => showEvaluation(ctx, args)),
    labelProblems,
    // Edits go through the TextDocument, so VS Code keeps undo, dirty state, save and hot exit.
    vscode.window.registerCustomEditorProvider(LABEL_VIEW_TYPE, new LabelEditorProvider(context.extensionUri, labelProblems), {
      supportsMultipleEditorsPerDocument: false,
    }),
    largeLabelEditor,
    vscode.window.registerCustomEditorProvider(LARGE_LABEL_VIEW_TYPE, largeLabelEditor, { supportsMultipleEditorsPerDocument: false }),
    // After a window reload VS Code restores the panel; the webview's saved state names its runs.
    vscode.window.registerWebviewPanelSerializer(MetricsPanel.viewType, {
      deserializeWebviewPanel: async (panel) => {
        new MetricsPanel(panel, context.extensionUri, runs, (l) => output.appendLine(l));
      },
    }),
    { dispose: () => MetricsPanel.current?.dispose() },
    vscode.window.registerWebviewPanelSerializer(EvaluatePanel.viewType, {
      deserializeWebviewPanel: async (panel) => {
        new EvaluatePanel(panel, context.extensionUri, (l) => output.appendLine(l));
      },
    }),
    { dispose: () => EvaluatePanel.current?.dispose() },
    { dispose: () => probePanels.splice(0).forEach((p) => p.dispose()) },
  );
  return { runs, statusBar, probePanels, activationMs: performance.now() - started };
}

export function deactivate(): void {}
