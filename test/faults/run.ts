// `npm run test:faults`: the fault suite. Generated bad data lines, run configs, model folders and
// protocol messages, each with a time limit and an expected clear error; kill -9 at random moments
// and inside checkpoint writes, then resume and compare; concurrent writers; file-system faults.
// Prints one line per case and a table of counts; exits 1 on any hang, crash, lost data, accepted
// bad input or unclear error. `--quick` runs fewer kills; `--json FILE` writes every outcome.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outcome, Verdict } from './harness';
import { configCases, dataCases, makeFixture } from './inputs';
import { modelCases } from './models';
import { protocolCases } from './protocol';
import { filesystemCases, killCases } from './runs';

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const jsonAt = process.argv.indexOf('--json');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-faults-'));
  const outcomes: Outcome[] = [];
  const add = (o: Outcome) => {
    outcomes.push(o);
    const mark = o.verdict === 'clear' || o.verdict === 'ok' ? 'ok  ' : 'FAIL';
    process.stdout.write(`${mark} [${o.group}] ${o.name}: ${o.verdict} (${o.seconds.toFixed(1)} s) ${o.detail.replace(/\s+/g, ' ').slice(0, 160)}\n`);
  };
  // Two cases at a time (each is a child process): the machine has 2 cores.
  const pending: Promise<void>[] = [];
  const run = async (c: () => Promise<Outcome>) => {
    if (pending.length >= 2) await Promise.race(pending);
    const p: Promise<void> = c()
      .then(add)
      .finally(() => pending.splice(pending.indexOf(p), 1));
    pending.push(p);
  };
  const started = Date.now();
  try {
    const f = makeFixture(root);
    const want = (g: string) => !only || only.split(',').includes(g);
    if (want('data')) await dataCases(f, run);
    if (want('config')) await configCases(f, run);
    if (want('model')) await modelCases(f, run);
    await Promise.all(pending);
    if (want('protocol')) await protocolCases(f, add);
    if (want('kill')) await killCases(f, quick ? 2 : 8, quick ? 1 : 4, add);
    if (want('fs')) await filesystemCases(f, add);
  } finally {
    for (const m of ['small-fs', 'read-only']) spawnSync('umount', [path.join(root, 'runs', m)], { stdio: 'ignore' }); // after a failure mid-case
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync('/sys/dpo-fault-run', { recursive: true, force: true });
  }
  const count = (os: Outcome[], v: Verdict[]) => os.filter((o) => v.includes(o.verdict)).length;
  const groups = [...new Set(outcomes.map((o) => o.group))];
  const rows = groups.map((g) => {
    const os = outcomes.filter((o) => o.group === g);
    return `| ${g} | ${os.length} | ${count(os, ['clear'])} | ${count(os, ['ok'])} | ${count(os, ['unclear', 'accepted'])} | ${count(os, ['hang'])} | ${count(os, ['crash'])} | ${count(os, ['lost'])} |`;
  });
  const all = `| **all** | **${outcomes.length}** | **${count(outcomes, ['clear'])}** | **${count(outcomes, ['ok'])}** | **${count(outcomes, ['unclear', 'accepted'])}** | **${count(outcomes, ['hang'])}** | **${count(outcomes, ['crash'])}** | **${count(outcomes, ['lost'])}** |`;
  process.stdout.write(
    `\n| group | cases | clear errors | recovered / handled | unclear or accepted | hangs | crashes | data lost |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n${all}\n\n${((Date.now() - started) / 1000).toFixed(0)} s, ${os.cpus().length} cores\n`,
  );
  if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], JSON.stringify(outcomes, null, 2) + '\n');
  return count(outcomes, ['unclear', 'accepted', 'hang', 'crash', 'lost']) > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`fault suite: ${err.stack ?? err.message}\n`);
    process.exit(2);
  },
);
