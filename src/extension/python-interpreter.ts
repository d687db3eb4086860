// The base Python the PyTorch engine's environment is created with: the interpreter selected in the
// Python extension (through its public API, when that extension is installed), else the
// dpo.python.path setting, else python3 on PATH. Says where it came from, for error messages.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { defaultPython } from '../node/torch-setup';

export interface FoundPython {
  path: string;
  source: 'python-extension' | 'setting' | 'default';
}

/** The part of ms-python.python's exported API used here (its `environments` API, stable since 2023). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(env: { id: string; path: string } | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

async function fromPythonExtension(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const env = api?.environments?.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri);
    if (!env?.path) return undefined;
    const resolved = await api.environments!.resolveEnvironment(env);
    const exe = resolved?.executable.uri?.fsPath ?? env.path;
    // An environment folder rather than an executable: its interpreter.
    if (fs.existsSync(exe) && fs.statSync(exe).isDirectory()) return path.join(exe, process.platform === 'win32' ? 'python.exe' : path.join('bin', 'python'));
    return exe;
  } catch {
    return undefined; // the Python extension failed to answer: fall back to the setting
  }
}

export async function findBasePython(settingPath: string): Promise<FoundPython> {
  const fromExt = await fromPythonExtension();
  if (fromExt) return { path: fromExt, source: 'python-extension' };
  if (settingPath.trim()) return { path: settingPath.trim(), source: 'setting' };
  return { path: defaultPython(), source: 'default' };
}

export function describeSource(p: FoundPython): string {
  switch (p.source) {
    case 'python-extension':
      return `the interpreter selected in the Python extension (${p.path})`;
    case 'setting':
      return `dpo.python.path (${p.path})`;
    case 'default':
      return `${p.path} on PATH`;
  }
}
