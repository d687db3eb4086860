// Runs the `dpo` CLI (bin/dpo.js) in its own Node process for a command of the extension: the
// extension host never loads engine or data-reading code in-process. Resolves with the exit code and
// what the CLI printed; never rejects (a spawn failure is exit -1 with its message as stderr).
import { spawn } from 'node:child_process';
import { readSettings } from './settings';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `onOutput` receives what the CLI prints as it prints it (progress lines for the output channel). */
export function runCli(cliPath: string, args: string[], onOutput?: (text: string) => void): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(readSettings().nodePath || process.execPath, [cliPath, ...args], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
      onOutput?.(String(d));
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
      onOutput?.(String(d));
    });
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI's last meaningful line of a failure, without its "error: " prefix. */
export function cliFailure(r: CliResult): string {
  const text = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).replace(/^error:\s*/i, '');
  return text;
}
