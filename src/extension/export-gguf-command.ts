// "DPO: Export GGUF": a run folder, model folder or LoRA adapter as a GGUF file for llama.cpp / Ollama,
// written by `dpo export-gguf` in its own process (the conversion is the CLI's, in the torch env), with
// its progress lines in the DPO output channel. Not the converter (python/dpo_studio/export_gguf.py).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CommandContext, CommandResult, fail, requireTrust } from './commands';
import { cliFailure, runCli } from './run-cli';

export const EXPORT_GGUF_COMMAND = 'dpo.exportGguf';

export interface ExportGgufArgs {
  model?: string;
  out?: string;
  type?: 'f32' | 'f16' | 'q8_0';
}

const TYPES: (vscode.QuickPickItem & { type: ExportGgufArgs['type'] })[] = [
  { label: 'f16', description: 'half precision: what llama.cpp and Ollama run well (default)', type: 'f16' },
  { label: 'q8_0', description: '8-bit: about half the size of f16, log-probs within a few hundredths', type: 'q8_0' },
  { label: 'f32', description: 'full precision: exactly the trained weights, largest', type: 'f32' },
];

async function pickFolder(): Promise<string | undefined> {
  const chosen = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Export GGUF',
    title: 'A run folder, a model folder (config.json) or a LoRA adapter folder',
  });
  return chosen?.[0]?.fsPath;
}

export async function exportGguf(ctx: CommandContext, target?: vscode.Uri | ExportGgufArgs): Promise<CommandResult & { modelfile?: string }> {
  const untrusted = await requireTrust();
  if (untrusted) return untrusted;
  const args: ExportGgufArgs = target instanceof vscode.Uri ? { model: target.fsPath } : (target ?? {});
  const model = args.model ?? (await pickFolder());
  if (!model) return { ok: false, error: 'cancelled' };
  if (!fs.existsSync(model) || !fs.statSync(model).isDirectory()) return fail(`${model}: not a folder`, ctx);
  const type = args.type ?? (await vscode.window.showQuickPick(TYPES, { title: 'DPO: Export GGUF — tensor type', ignoreFocusOut: true }))?.type;
  if (!type) return { ok: false, error: 'cancelled' };
  const out = args.out ?? path.join(model, 'gguf', `${path.basename(model)}-${type}.gguf`);
  const cli = ['export-gguf', '--model', model, '--out', out, '--type', type];
  ctx.output.appendLine(`$ dpo ${cli.join(' ')}`);
  ctx.output.show(true);
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `DPO: exporting ${path.basename(model)} to GGUF (${type})` },
    () => runCli(ctx.cliPath, cli, (text) => ctx.output.append(text)),
  );
  if (r.code !== 0) return fail(`export-gguf failed: ${cliFailure(r).split('\n').pop()}`, ctx);
  const modelfile = path.join(path.dirname(out), 'Modelfile');
  if (!target || target instanceof vscode.Uri)
    void vscode.window.showInformationMessage(`DPO: wrote ${out} and its Ollama Modelfile (ollama create <name> -f ${modelfile}).`);
  return { ok: true, path: out, modelfile };
}
