// The HTML shell of every DPO webview: a strict Content-Security-Policy (a fresh nonce for the one
// script, this extension's files through webview.cspSource only, nothing remote) and the bundle
// that esbuild wrote to out/webview/<name>.js with its <name>.css.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, title: string, options: { dataImages?: boolean } = {}): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'out', 'webview', f));
  const img = options.dataImages ? ` img-src ${webview.cspSource} data:;` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none';${img} style-src ${webview.cspSource}; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset(`${bundle}.css`)}"><title>${title}</title></head>
<body><div id="app"></div><script nonce="${nonce}" src="${asset(`${bundle}.js`)}"></script></body></html>`;
}
