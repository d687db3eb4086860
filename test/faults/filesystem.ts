// File-system faults for the fault suite, on either engine: a full disk, a folder that cannot be
// written, a directory where a file belongs, --out pointed at folders holding files. Each must end
// in a clear error naming the path, and a run interrupted by a full disk must resume intact.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DPO, Outcome, digest, judgeError, runNode } from './harness';
import { EngineUnderTest } from './engines';
import { firstDifference, until } from './judge';
import { record, resumeArgs, spawnTrain, trainArgs } from './runs';
import type { Fixture } from './inputs';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Mounts a tmpfs at `dir`; false where this machine does not allow it (not root, no CAP_SYS_ADMIN). */
function mount(dir: string, options: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
}

export async function filesystemCases(f: Fixture, e: EngineUnderTest, add: (o: Outcome) => void): Promise<void> {
  const runs = path.join(f.root, 'runs', `${e.name}-fs`);
  fs.mkdirSync(runs, { recursive: true });
  const limit = 120_000 * e.slow;
  // A full disk: a small tmpfs where the run's first checkpoints fit and a later one does not (where
  // this machine lets us mount; otherwise log.txt on /dev/full, whose writes fail with ENOSPC).
  const small = path.join(runs, 'small-fs');
  fs.mkdirSync(small, { recursive: true });
  const mounted = mount(small, 'size=400k');
  const full = path.join(small, 'run');
  const expected = path.join(f.root, 'runs', `${e.name}-uninterrupted`);
  if (!fs.existsSync(path.join(expected, 'final'))) await runNode(trainArgs(f, e, expected), 180_000 * e.slow);
  if (mounted) {
    const c = await runNode(trainArgs(f, e, full), limit);
    add(judgeError('file system', 'disk full (a 400 KB file system) during a run', c, new RegExp(`ENOSPC.*${escapeRe(full)}|${escapeRe(full)}.*ENOSPC`)));
    spawnSync('mount', ['-o', 'remount,size=20m', small]);
  } else {
    const first = spawnTrain(trainArgs(f, e, full));
    await until(() => fs.existsSync(path.join(full, 'checkpoints', 'step-3', 'trainer_state.json')), limit);
    await first.killGroup();
    const log = path.join(full, 'log.txt');
    const saved = fs.readFileSync(log);
    fs.rmSync(log);
    fs.symlinkSync('/dev/full', log);
    const c = await runNode(resumeArgs(e, full), limit);
    add(
      judgeError('file system', 'disk full (log.txt on /dev/full) during a resumed run', c, new RegExp(`ENOSPC.*${escapeRe(full)}|${escapeRe(full)}.*ENOSPC`)),
    );
    fs.rmSync(log);
    fs.writeFileSync(log, saved);
  }
  const resumed = await runNode(resumeArgs(e, full), limit);
  const difference = resumed.code === 0 ? firstDifference(record(expected), record(full)) : undefined;
  add({
    group: 'file system',
    name: 'after space is freed, the run resumes and matches the uninterrupted run',
    seconds: resumed.seconds,
    verdict: resumed.code !== 0 ? 'lost' : difference ? 'differs' : 'ok',
    detail: resumed.code === 0 ? (difference ? `differs: ${difference}` : 'identical') : resumed.stderr.slice(-200),
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
        await runNode(trainArgs(f, e, path.join(ro, 'run')), limit),
        new RegExp(escapeRe(path.join(ro, 'run'))),
      ),
    );
  }
  if (roMounted) spawnSync('umount', [ro]);

  add(
    judgeError(
      'file system',
      '--out in a folder the kernel refuses (/sys)',
      await runNode(trainArgs(f, e, `/sys/dpo-fault-run-${e.name}`), limit),
      /\/sys\/dpo-fault-run/,
    ),
  );
  add(
    judgeError(
      'file system',
      '--data is a directory',
      await runNode([DPO, 'train', '--model', f.model, '--data', runs, '--out', path.join(runs, 'isdir'), ...e.trainFlags], limit),
      new RegExp(`${runs}: cannot read \\(EISDIR\\)`),
    ),
  );
  add(judgeError('file system', '--config is a directory', await runNode([DPO, 'train', '--config', runs, ...e.trainFlags], limit), new RegExp(`${runs}: `)));
  fs.writeFileSync(path.join(runs, 'a-file'), 'x');
  add(judgeError('file system', '--out under a file (ENOTDIR)', await runNode(trainArgs(f, e, path.join(runs, 'a-file', 'run')), limit), /a-file/));

  // --out pointed at folders that hold other files: refused, and nothing in them changes.
  const project = path.join(runs, 'project');
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
      await runNode(trainArgs(f, e, dir), limit),
      new RegExp(`${dir.replace(/[/.]/g, '\\$&')}.*(holds other files|is a file)`),
    );
    const after = fs.statSync(dir).isDirectory() ? digest(dir) : fs.readFileSync(dir, 'utf8');
    add(before === after ? o : { ...o, verdict: 'lost', detail: `files in ${dir} changed` });
  }
}
