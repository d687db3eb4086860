// `npm run test:faults`: the fault suite. Generated bad data lines, run configs, model folders and
// protocol messages, each with a time limit and an expected clear error; kill -9 at random moments
// and inside checkpoint writes, then resume and compare; SIGTERM; concurrent writers; file-system
// faults. `--engine=tfjs,torch` picks the engines (default: both where the torch environment is
// set up). Prints one line per case and a table per engine; exits 1 on any hang, crash, lost run,
// accepted bad input, unclear error, differing resumed run or missed kill. `--quick` runs fewer
// kills; `--only=data,kill` some groups; `--json FILE` writes every outcome as it goes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outcome } from './harness';
import { enginesOf } from './engines';
import { FAILING, countsTable } from './judge';
import { filesystemCases } from './filesystem';
import { configCases, dataCases, makeFixture } from './inputs';
import { modelCases } from './models';
import { protocolCases } from './protocol';
import { killCases } from './runs';

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const jsonAt = process.argv.indexOf('--json');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  const engines = enginesOf(process.argv);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-faults-'));
  const outcomes: Outcome[] = [];
  let engine = engines[0].name;
  const add = (o: Outcome) => {
    o.engine ??= engine;
    outcomes.push(o);
    // Written as it goes, so that a run cut short by a time limit still leaves its outcomes.
    if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], JSON.stringify(outcomes, null, 2) + '\n');
    const mark = o.verdict === 'clear' || o.verdict === 'ok' ? 'ok  ' : 'FAIL';
    process.stdout.write(
      `${mark} [${o.engine}] [${o.group}] ${o.name}: ${o.verdict} (${o.seconds.toFixed(1)} s) ${o.detail.replace(/\s+/g, ' ').slice(0, 160)}\n`,
    );
  };
  // Two cases at a time (each is a child process): the machine has 2 cores.
  const pending: Promise<void>[] = [];
  const run = async (c: () => Promise<Outcome>) => {
    if (pending.length >= 2) await Promise.race(pending);
    const on = engine;
    const p: Promise<void> = c()
      .then((o) => add({ ...o, engine: on }))
      .finally(() => pending.splice(pending.indexOf(p), 1));
    pending.push(p);
  };
  const started = Date.now();
  try {
    const f = makeFixture(root);
    const want = (g: string) => !only || only.split(',').includes(g);
    for (const e of engines) {
      engine = e.name;
      if (want('data')) await dataCases(f, e, run);
      if (want('config')) await configCases(f, e, run);
      if (want('model')) await modelCases(f, e, run);
      await Promise.all(pending);
      if (want('protocol')) await protocolCases(f, e, add);
      if (want('kill')) await killCases(f, e, quick ? 2 : 8, quick ? 2 : 4, add);
      if (want('fs')) await filesystemCases(f, e, add);
    }
  } finally {
    for (const e of engines) for (const m of ['small-fs', 'read-only']) spawnSync('umount', [path.join(root, 'runs', `${e.name}-fs`, m)], { stdio: 'ignore' }); // after a failure mid-case
    fs.rmSync(root, { recursive: true, force: true });
    for (const e of engines) fs.rmSync(`/sys/dpo-fault-run-${e.name}`, { recursive: true, force: true });
  }
  process.stdout.write(
    `\n${countsTable(outcomes)}\n\n${((Date.now() - started) / 1000).toFixed(0)} s, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}\n`,
  );
  if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], JSON.stringify(outcomes, null, 2) + '\n');
  return FAILING.some((v) => outcomes.some((o) => o.verdict === v)) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`fault suite: ${err.stack ?? err.message}\n`);
    process.exit(2);
  },
);
