// Run-level faults for the fault suite: kill -9 at random moments and inside checkpoint writes, then
// resume and compare with an uninterrupted run; several writers on one run; a full disk, a folder
// that cannot be written, a directory where a file belongs; --out pointed at folders holding files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { DPO, Outcome, digest, judgeError, runNode } from './harness';
import { Rng } from '../../src/engine/rng';
import type { Fixture } from './inputs';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Mounts a tmpfs at `dir`; false where this machine does not allow it (not root, no CAP_SYS_ADMIN). */
function mount(dir: string, options: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
}

const RUN = [
  '--max-steps',
  '12',
  '--save-steps',
  '3',
  '--eval-steps',
  '4',
  '--eval-fraction',
  '0.25',
  '--batch-size',
  '2',
  '--learning-rate',
  '1e-3',
  '--warmup-ratio',
  '0',
  '--seed',
  '3',
  '--backend',
  'wasm',
];
const trainArgs = (f: Fixture, out: string) => [DPO, 'train', '--model', f.model, '--data', f.data, '--out', out, ...RUN];

/** Metrics without wall-clock fields, as text: what an interrupted run must reproduce. */
function record(dir: string): string {
  const lines = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { tokens_per_second: _a, elapsed_seconds: _b, 'memory/num_tensors': _c, ...rest } = JSON.parse(l) as Record<string, number>;
      return JSON.stringify(rest);
    });
  return lines.join('\n') + '\n' + fs.readFileSync(path.join(dir, 'final', 'model.safetensors')).toString('base64');
}

/** Resumes (or, when the kill came before config.json, restarts) until the run completes. */
async function finish(f: Fixture, out: string): Promise<string | undefined> {
  for (let i = 0; i < 3; i++) {
    const resumable = fs.existsSync(path.join(out, 'config.json'));
    const c = await runNode(resumable ? [DPO, 'train', '--resume', out, '--backend', 'wasm'] : trainArgs(f, out), 120_000);
    if (c.code === 0) return undefined;
    if (i === 2) return `${resumable ? 'resume' : 'restart'} failed: ${c.stderr.trim().split('\n').pop()}`;
  }
  return undefined;
}

function spawnTrain(args: string[]) {
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  return { child, exited: new Promise<void>((resolve) => child.on('exit', () => resolve())) };
}

export async function killCases(f: Fixture, kills: number, ckptKills: number, add: (o: Outcome) => void): Promise<void> {
  const base = path.join(f.root, 'runs', 'uninterrupted');
  const t0 = Date.now();
  const b = await runNode(trainArgs(f, base), 180_000);
  if (b.code !== 0) throw new Error(`the uninterrupted run failed: ${b.stderr}`);
  const expected = record(base);
  const duration = Date.now() - t0;
  const rng = new Rng(17);
  const compare = async (group: string, name: string, out: string, started: number) => {
    const failed = await finish(f, out);
    const same = !failed && record(out) === expected;
    add({
      group,
      name,
      seconds: (Date.now() - started) / 1000,
      verdict: failed ? 'unclear' : same ? 'ok' : 'lost',
      detail: failed ?? (same ? 'metrics and final weights identical to the uninterrupted run' : 'differs from the uninterrupted run'),
    });
  };
  for (let k = 0; k < kills; k++) {
    const out = path.join(f.root, 'runs', `kill-${k}`);
    const at = Math.round(200 + rng.next() * duration);
    const started = Date.now();
    const { child, exited } = spawnTrain(trainArgs(f, out));
    await new Promise((r) => setTimeout(r, at));
    child.kill('SIGKILL');
    await exited;
    await compare('kill -9 and resume', `kill at ${at} ms`, out, started);
  }
  for (let k = 0; k < ckptKills; k++) {
    // Killed while a checkpoint is being written: the moment its temp folder appears, plus 0-20 ms.
    const out = path.join(f.root, 'runs', `ckpt-kill-${k}`);
    const started = Date.now();
    const { child, exited } = spawnTrain(trainArgs(f, out));
    const ckpts = path.join(out, 'checkpoints');
    let seen = false;
    while (!seen && child.exitCode === null) {
      seen = fs.existsSync(ckpts) && fs.readdirSync(ckpts).some((d) => d.startsWith('.tmp-step-'));
      if (!seen) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, Math.floor(rng.next() * 20)));
    child.kill('SIGKILL');
    await exited;
    await compare('kill -9 inside a checkpoint write', `kill in checkpoint write #${k + 1}${seen ? '' : ' (missed: the run ended first)'}`, out, started);
  }

  // SIGTERM (a service manager's stop) behaves like Ctrl-C: the step finishes, a checkpoint, exit 0.
  const termed = path.join(f.root, 'runs', 'sigterm');
  const tStarted = Date.now();
  const term = spawnTrain(trainArgs(f, termed));
  const termMetrics = path.join(termed, 'metrics.jsonl');
  while (!fs.existsSync(termMetrics) || fs.readFileSync(termMetrics, 'utf8').split('\n').length < 4) await new Promise((r) => setTimeout(r, 5));
  term.child.kill('SIGTERM');
  await term.exited;
  const graceful = term.child.exitCode === 0 && fs.readdirSync(path.join(termed, 'checkpoints')).some((d) => d.startsWith('step-'));
  if (!graceful)
    add({
      group: 'kill -9 and resume',
      name: 'SIGTERM',
      seconds: 0,
      verdict: 'crash',
      detail: `exit ${term.child.exitCode ?? term.child.signalCode}, no checkpoint`,
    });
  else await compare('kill -9 and resume', 'SIGTERM mid-run (exit 0 with a checkpoint), then resume', termed, tStarted);

  // Three writers resume one stopped run at once: one runs, the others are refused by the lock.
  const shared = path.join(f.root, 'runs', 'shared');
  const first = spawnTrain(trainArgs(f, shared));
  while (!fs.existsSync(path.join(shared, 'checkpoints', 'step-3', 'trainer_state.json'))) await new Promise((r) => setTimeout(r, 5));
  first.child.kill('SIGKILL');
  await first.exited;
  const started = Date.now();
  const writers = await Promise.all([0, 1, 2].map(() => runNode([DPO, 'train', '--resume', shared, '--backend', 'wasm'], 120_000)));
  const won = writers.filter((w) => w.code === 0).length;
  const refused = writers.filter((w) => w.code === 1 && /is in use by another run \(pid \d+ on /.test(w.stderr)).length;
  const same = won === 1 && record(shared) === expected;
  add({
    group: 'concurrent writers',
    name: '3 × dpo train --resume D at once',
    seconds: (Date.now() - started) / 1000,
    verdict: same && refused === 2 ? 'ok' : won === 1 ? 'unclear' : 'lost',
    detail: `${won} ran, ${refused} refused with the lock holder named; result ${same ? 'identical to' : 'differs from'} the uninterrupted run`,
  });
}

export async function filesystemCases(f: Fixture, add: (o: Outcome) => void): Promise<void> {
  const runs = path.join(f.root, 'runs');
  // A full disk: a small tmpfs where the run's first checkpoints fit and a later one does not (where
  // this machine lets us mount; otherwise log.txt on /dev/full, whose writes fail with ENOSPC).
  const small = path.join(runs, 'small-fs');
  fs.mkdirSync(small, { recursive: true });
  const mounted = mount(small, 'size=400k');
  const full = path.join(small, 'run');
  const expected = path.join(runs, 'uninterrupted');
  if (!fs.existsSync(path.join(expected, 'final'))) await runNode(trainArgs(f, expected), 180_000);
  if (mounted) {
    const c = await runNode(trainArgs(f, full), 120_000);
    add(judgeError('file system', 'disk full (a 400 KB file system) during a run', c, new RegExp(`ENOSPC.*${escapeRe(full)}|${escapeRe(full)}.*ENOSPC`)));
    spawnSync('mount', ['-o', 'remount,size=20m', small]);
  } else {
    const first = spawnTrain(trainArgs(f, full));
    while (!fs.existsSync(path.join(full, 'checkpoints', 'step-3', 'trainer_state.json'))) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    await first.exited;
    const log = path.join(full, 'log.txt');
    const saved = fs.readFileSync(log);
    fs.rmSync(log);
    fs.symlinkSync('/dev/full', log);
    const c = await runNode([DPO, 'train', '--resume', full, '--backend', 'wasm'], 120_000);
    add(
      judgeError('file system', 'disk full (log.txt on /dev/full) during a resumed run', c, new RegExp(`ENOSPC.*${escapeRe(full)}|${escapeRe(full)}.*ENOSPC`)),
    );
    fs.rmSync(log);
    fs.writeFileSync(log, saved);
  }
  const resumed = await runNode([DPO, 'train', '--resume', full, '--backend', 'wasm'], 120_000);
  const same = resumed.code === 0 && fs.existsSync(expected) && record(full) === record(expected);
  add({
    group: 'file system',
    name: 'after space is freed, the run resumes and matches the uninterrupted run',
    seconds: resumed.seconds,
    verdict: same ? 'ok' : 'lost',
    detail: resumed.code === 0 ? (same ? 'identical' : 'differs') : resumed.stderr.slice(-200),
  });
  if (mounted) spawnSync('umount', [small]);

  // Read-only: a tmpfs remounted read-only (EROFS), else (not root) a folder without write permission.
  const ro = path.join(runs, 'read-only');
  fs.mkdirSync(ro, { recursive: true });
  const roMounted = mount(ro, 'size=1m') && spawnSync('mount', ['-o', 'remount,ro', ro]).status === 0;
  if (!roMounted && process.getuid?.() !== 0) fs.chmodSync(ro, 0o555);
  if (roMounted || process.getuid?.() !== 0) {
    add(
      judgeError(
        'file system',
        `--out on a read-only ${roMounted ? 'file system' : 'folder'}`,
        await runNode(trainArgs(f, path.join(ro, 'run')), 60_000),
        new RegExp(escapeRe(path.join(ro, 'run'))),
      ),
    );
  }
  if (roMounted) spawnSync('umount', [ro]);

  add(
    judgeError('file system', '--out in a folder the kernel refuses (/sys)', await runNode(trainArgs(f, '/sys/dpo-fault-run'), 60_000), /\/sys\/dpo-fault-run/),
  );
  add(
    judgeError(
      'file system',
      '--data is a directory',
      await runNode([DPO, 'train', '--model', f.model, '--data', runs, '--out', path.join(runs, 'isdir'), '--backend', 'wasm'], 60_000),
      new RegExp(`${runs}: cannot read \\(EISDIR\\)`),
    ),
  );
  add(
    judgeError('file system', '--config is a directory', await runNode([DPO, 'train', '--config', runs, '--backend', 'wasm'], 60_000), new RegExp(`${runs}: `)),
  );
  fs.writeFileSync(path.join(runs, 'a-file'), 'x');
  add(judgeError('file system', '--out under a file (ENOTDIR)', await runNode(trainArgs(f, path.join(runs, 'a-file', 'run')), 60_000), /a-file/));

  // --out pointed at folders that hold other files: refused, and nothing in them changes.
  const project = path.join(f.root, 'project');
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, 'config.json'), '{"name": "my project"}\n');
  for (const [name, dir] of [
    ['--out is the model folder', f.model],
    ['--out is a project holding config.json', project],
    ['--out is a file', path.join(runs, 'a-file')],
  ] as const) {
    const before = fs.statSync(dir).isDirectory() ? digest(dir) : fs.readFileSync(dir, 'utf8');
    const o = judgeError(
      'output folders',
      name,
      await runNode(trainArgs(f, dir), 60_000),
      new RegExp(`${dir.replace(/[/.]/g, '\\$&')}.*(holds other files|is a file)`),
    );
    const after = fs.statSync(dir).isDirectory() ? digest(dir) : fs.readFileSync(dir, 'utf8');
    add(before === after ? o : { ...o, verdict: 'lost', detail: `files in ${dir} changed` });
  }
}
