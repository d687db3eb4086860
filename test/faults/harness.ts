// The fault suite's harness: runs `dpo` (or any node script) as a child with a time limit and sorts
// the outcome into what the issue counts: a clear error (exit 1, message naming the file, line or
// field), a hang (killed at the time limit), a crash (a signal, a stack trace, a V8 fatal error, or
// an unexpected exit code), and inputs that were wrongly accepted.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DPO = path.resolve(__dirname, '../../../bin/dpo.js');

/**
 * 'lost': a run that cannot be completed, or files changed that must not be; 'differs': a resumed run
 * whose records or weights are not those of the uninterrupted run; 'missed': the case did not reach
 * the state it meant to test (a kill that landed after the write).
 */
export type Verdict = 'clear' | 'unclear' | 'hang' | 'crash' | 'accepted' | 'ok' | 'lost' | 'differs' | 'missed';

export interface Outcome {
  /** Set by the runner: the engine the case ran on. */
  engine?: string;
  group: string;
  name: string;
  verdict: Verdict;
  detail: string;
  seconds: number;
}

export interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
}

/** Runs node with `args`; SIGKILL at `timeoutMs`. */
export function runNode(args: string[], timeoutMs: number, options: { cwd?: string; input?: string } = {}): Promise<Child> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout = (stdout + d).slice(-100_000)));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-100_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const CRASH_SIGNS = /Fatal JavaScript|FATAL ERROR|RangeError: Invalid string length|Maximum call stack|\n\s+at .+\(.+:\d+:\d+\)|Aborted\(|Segmentation fault/;

/** An error run is clear when it exits 1 with one `dpo: …` message that matches `names`. */
export function judgeError(group: string, name: string, c: Child, names: RegExp): Outcome {
  const detail = (c.stderr.split('\n').find((l) => l.startsWith('dpo: ')) ?? c.stderr.trim().split('\n').pop() ?? '').slice(0, 300);
  const base = { group, name, seconds: c.seconds };
  if (c.timedOut) return { ...base, verdict: 'hang', detail: `no answer in ${c.seconds.toFixed(0)} s` };
  if (c.signal || (c.code !== 0 && c.code !== 1 && c.code !== 2) || CRASH_SIGNS.test(c.stderr))
    return { ...base, verdict: 'crash', detail: `exit ${c.code ?? c.signal}: ${c.stderr.slice(-300)}` };
  if (c.code === 0) return { ...base, verdict: 'accepted', detail: 'exit 0: the bad input was accepted' };
  return { ...base, verdict: names.test(c.stderr) ? 'clear' : 'unclear', detail };
}

/** A digest of every file under `dir`, to tell whether anything there changed. */
export function digest(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(p);
      if (e.isDirectory()) walk(p);
      else h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

export const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
