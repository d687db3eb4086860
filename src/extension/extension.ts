// Extension entry point: registrations only. Commands arrive with the extension issue (#4);
// the engine is a separate process and is never imported here.
import * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
