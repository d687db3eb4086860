// The labeling editor's token preview (V): `dpo tokens --json` for one line, in its own Node process,
// shown in a panel with prompt tokens (masked), response tokens (trained), EOS and truncation cuts
// told apart. The model is the reviewed run's, else the newest run's on this data file, else picked.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PreviewSide, TokenPreview, unpairedWord } from '../../protocol';
import { readRunConfig } from '../../node/run-folder';
import { listRunFolders } from '../run-folders';
import { readSettings, runsRoot } from '../settings';

export interface PreviewModel {
  modelDir: string;
  maxLength?: number;
  maxPromptLength?: number;
}

let picked: PreviewModel | undefined;

/** The model whose tokenizer and truncation the preview uses. */
export async function previewModel(dataFile: string, runDir?: string): Promise<PreviewModel | undefined> {
  const fromRun = (dir: string): PreviewModel | undefined => {
    const r = readRunConfig(dir);
    return r.ok ? { modelDir: r.config.model, maxLength: r.config.max_length, maxPromptLength: r.config.max_prompt_length ?? undefined } : undefined;
  };
  if (runDir) return fromRun(runDir);
  const run = listRunFolders(runsRoot(readSettings())).find((r) => path.resolve(r.config.data) === path.resolve(dataFile));
  if (run) return fromRun(run.dir);
  if (picked) return picked;
  const dir = (
    await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Use This Tokenizer',
      title: 'DPO: the model whose tokenizer and chat template to preview with',
    })
  )?.[0]?.fsPath;
  return dir ? (picked = { modelDir: dir }) : undefined;
}

export function runTokens(cliPath: string, dataFile: string, line: number, m: PreviewModel): Promise<TokenPreview> {
  const args = [cliPath, 'tokens', '--json', '--model', m.modelDir, '--data', dataFile, '--line', String(line)];
  if (m.maxLength) args.push('--max-length', String(m.maxLength));
  if (m.maxPromptLength) args.push('--max-prompt-length', String(m.maxPromptLength));
  return new Promise((resolve, reject) => {
    const child = spawn(readSettings().nodePath || process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as TokenPreview) : reject(new Error(err.trim().replace(/^dpo: /, '') || `dpo tokens exited with ${code}`)),
    );
  });
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function sideHtml(name: string, s: PreviewSide): string {
  const tokens = s.tokens
    .map(
      (t) =>
        `<span class="tok ${t.role}${t.cut ? ' cut' : ''}${t.eos ? ' eos' : ''}" title="id ${t.id}${t.role === 'prompt' ? ', masked' : ', trained'}${t.cut ? ', cut by truncation' : ''}">${esc(JSON.stringify(t.text).slice(1, -1))}</span>`,
    )
    .join('');
  return `<section class="side" data-side="${name}"><h2>${name}</h2>
<p class="counts">prompt <b>${s.keptPromptTokens}</b>/${s.promptTokens} tokens (masked) · response <b>${s.keptResponseTokens}</b>/${s.responseTokens} tokens (trained) · kept/total</p>
<div class="tokens">${tokens}</div></section>`;
}

export function previewHtml(webview: vscode.Webview, p: TokenPreview, modelDir: string): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource} 'nonce-${nonce}';">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
.tokens { font-family: var(--vscode-editor-font-family); line-height: 2; }
.tok { display: inline-block; padding: 1px 2px; margin: 1px; border-radius: 3px; white-space: pre; }
.tok.prompt { background: var(--vscode-editorWidget-background); color: var(--vscode-descriptionForeground); }
.tok.response { background: var(--vscode-diffEditor-insertedTextBackground); outline: 1px solid var(--vscode-diffEditor-insertedLineBackground); }
.tok.eos { font-weight: bold; }
.tok.cut { text-decoration: line-through; opacity: 0.5; }
.warning { color: var(--vscode-editorWarning-foreground); }
.legend span { margin-right: 1em; }
</style></head><body>
<h1>Line ${p.line}: tokens for training</h1>
<p>${p.conversational ? 'Conversational: rendered with the chat template' : 'Text: special tokens of the tokenizer, EOS appended'} · model <code>${esc(modelDir)}</code> · max_length ${p.maxLength}${p.maxPromptLength !== null ? ` · max_prompt_length ${p.maxPromptLength}` : ''}</p>
<p class="legend"><span class="tok prompt">prompt (masked)</span><span class="tok response">response (trained)</span><span class="tok response eos">EOS</span><span class="tok response cut">cut by truncation</span></p>
${p.warnings.map((w) => `<p class="warning" data-code="${w.code}">⚠ ${esc(w.message)}</p>`).join('\n')}
${p.unpairedLabel !== undefined ? sideHtml(`completion (${unpairedWord(p.unpairedLabel)}), as KTO trains on it`, p.chosen) : `${sideHtml('chosen', p.chosen)}\n${sideHtml('rejected', p.rejected)}`}
</body></html>`;
}

let panel: vscode.WebviewPanel | undefined;

/** Shows (or refreshes) the one preview panel beside the labeling editor. */
export function showPreview(p: TokenPreview, modelDir: string): vscode.WebviewPanel {
  panel ??= vscode.window.createWebviewPanel(
    'dpo.tokenPreview',
    'Tokens',
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
    { enableScripts: false },
  );
  panel.onDidDispose(() => (panel = undefined));
  panel.title = `Tokens · line ${p.line}`;
  panel.webview.html = previewHtml(panel.webview, p, modelDir);
  return panel;
}

export const cliPathOf = (extensionUri: vscode.Uri) => path.join(extensionUri.fsPath, 'bin', 'dpo.js');
