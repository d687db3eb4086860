// "DPO: Export Launch Script": the cluster launch of a run config (launch.sh, accelerate.yaml,
// run.json; see `dpo export-launch`), written by the CLI in its own process so the logic lives in one
// place. A config without output_dir gets one in the runs folder: rank 0 of the job writes it there,
// and the metrics panel's "Open Run Folder…" follows it (on a shared disk) while the job runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readRunConfigFile } from '../node/config-file';
import { CommandContext, CommandResult, fail } from './commands';
import { cliFailure, runCli } from './run-cli';
import { newRunDir, readSettings, runsRoot } from './settings';

export interface ExportLaunchArgs {
  config?: string;
  nodes?: number;
  gpusPerNode?: number;
}

const isRunConfig = (f: string | undefined) => !!f && /\.dpo\.json$|(^|[\\/])dpo\.config\.json$/.test(f);

/** The workspace's run configs (New Training Run writes them to .dpo/configs/), newest first, or a file chosen by hand. */
async function pickRunConfig(): Promise<string | undefined> {
  const found = (await vscode.workspace.findFiles('**/*.dpo.json', '**/node_modules/**', 200))
    .map((u) => ({ file: u.fsPath, mtime: fs.statSync(u.fsPath).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const browse = '$(folder-opened) Choose a run config file…';
  const items: (vscode.QuickPickItem & { file?: string })[] = [
    ...found.map((f) => ({ label: `$(file) ${path.basename(f.file)}`, description: vscode.workspace.asRelativePath(path.dirname(f.file)), file: f.file })),
    { label: browse, description: 'a *.dpo.json run config (New Training Run writes them to .dpo/configs/)' },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: 'DPO: Export Launch Script — run config',
    placeHolder: found.length
      ? 'The run config to launch on a cluster'
      : 'No *.dpo.json run config in this workspace yet: choose one, or make one with New Training Run',
    ignoreFocusOut: true,
  });
  if (!pick) return undefined;
  if (pick.file) return pick.file;
  const chosen = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { 'DPO run config (*.dpo.json)': ['json'] },
    openLabel: 'Export Launch Script',
    title: 'Choose a run config (*.dpo.json)',
  });
  return chosen?.[0]?.fsPath;
}

async function askCount(title: string, value: string): Promise<number | undefined> {
  const v = await vscode.window.showInputBox({
    title: `DPO: Export Launch Script — ${title}`,
    value,
    ignoreFocusOut: true,
    validateInput: (s) => (/^[1-9]\d*$/.test(s.trim()) ? undefined : 'a whole number ≥ 1'),
  });
  return v === undefined ? undefined : Number(v);
}

export async function exportLaunchScript(ctx: CommandContext, args: ExportLaunchArgs = {}): Promise<CommandResult & { files?: string[] }> {
  let file = args.config ?? vscode.window.activeTextEditor?.document.uri.fsPath;
  // A config given as an argument is taken whatever its name; only the active editor's file must look like one.
  if (!args.config && !isRunConfig(file)) {
    file = await pickRunConfig();
    if (!file) return { ok: false, error: 'cancelled' };
  }
  let values: Record<string, unknown>;
  try {
    values = readRunConfigFile(file!);
  } catch (err) {
    return fail((err as Error).message, ctx);
  }
  const nodes = args.nodes ?? (await askCount('machines (nodes)', '1'));
  if (nodes === undefined) return { ok: false, error: 'cancelled' };
  const gpus = args.gpusPerNode ?? (await askCount('GPUs per machine', '8'));
  if (gpus === undefined) return { ok: false, error: 'cancelled' };
  const outDir = path.join(path.dirname(file!), `launch-${path.basename(file!).replace(/\.json$/, '')}`);
  fs.mkdirSync(outDir, { recursive: true });
  if (!values.output_dir) {
    const root = runsRoot(readSettings()) ?? path.dirname(file!);
    values = { ...values, output_dir: newRunDir(root, String(values.mode ?? 'dpo')) };
  }
  // The config as the job will run it (absolute paths, output_dir set), beside the launch files.
  const jobConfig = path.join(outDir, 'job.dpo.json');
  fs.writeFileSync(jobConfig, JSON.stringify({ ...values, engine: 'torch' }, null, 2) + '\n');
  const cli = ['export-launch', jobConfig, '--out', outDir, '--nodes', String(nodes), '--gpus-per-node', String(gpus)];
  ctx.output.appendLine(`$ dpo ${cli.join(' ')}`);
  const r = await runCli(ctx.cliPath, cli);
  ctx.output.appendLine(r.stderr.trim());
  if (r.code !== 0) return fail(`export-launch failed: ${cliFailure(r)}`, ctx);
  const files = [...r.stderr.matchAll(/^wrote (.+)$/gm)].map((m) => m[1]);
  const script = files.find((f) => f.endsWith('launch.sh')) ?? path.join(outDir, 'launch.sh');
  if (!args.config) {
    void vscode.window.showTextDocument(vscode.Uri.file(script));
    void vscode.window.showInformationMessage(`DPO: launch script written to ${script}; the job writes its run folder at ${values.output_dir}.`);
  }
  return { ok: true, path: script, files, runDir: String(values.output_dir) };
}
