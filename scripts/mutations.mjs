#!/usr/bin/env node
// `npm run test:mutations`: checks that the unit tests catch small bugs in the engine. Builds once,
// then for each entry of test/mutations/list.mjs applies its text edits to the built JavaScript
// under out/src/engine (found by snippet, across all files), runs the engine unit tests (stopping
// at the first failing file), restores the files, and reports "killed" (a test failed) or
// "survived". Exits 1 when any mutation survives or any snippet is not found exactly as listed.
// Options: --no-build (use out/ as it is), --only id1,id2 (run those entries).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const engineOut = path.join(repo, 'out', 'src', 'engine');
const testsOut = path.join(repo, 'out', 'test', 'unit', 'engine');
// The wiring tests first: they kill most mutations, and the run stops at the first failing file.
const FIRST = ['trainer-wiring.test.js', 'trainer-update.test.js', 'ref-cache.test.js', 'kto.test.js'];
const TEST_TIMEOUT_MS = 10 * 60 * 1000;

const args = process.argv.slice(2);
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1].split(',')) : undefined;

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.js') ? [p] : [];
  });
}

function countOf(text, snippet) {
  let n = 0;
  for (let i = text.indexOf(snippet); i !== -1; i = text.indexOf(snippet, i + snippet.length)) n++;
  return n;
}

/** Runs the engine test files one by one; returns the first failing file and test, or undefined. */
function runTests(files) {
  for (const file of files) {
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], {
      cwd: repo,
      encoding: 'utf8',
      timeout: TEST_TIMEOUT_MS,
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) {
      const failed = [...(r.stdout ?? '').matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]);
      const why = r.error ? String(r.error.message) : (failed[0] ?? `exit ${r.status ?? r.signal}`);
      return { file: path.basename(file), test: why };
    }
  }
  return undefined;
}

const mutations = (await import(path.join(repo, 'test', 'mutations', 'list.mjs'))).default;
const ids = new Set();
for (const m of mutations) {
  if (!m.id || !m.why || !Array.isArray(m.edits) || m.edits.length === 0)
    throw new Error(`test/mutations/list.mjs: entry ${JSON.stringify(m.id)} needs id, why and edits`);
  if (ids.has(m.id)) throw new Error(`test/mutations/list.mjs: duplicate id ${m.id}`);
  ids.add(m.id);
}
if (only) for (const id of only) if (!ids.has(id)) throw new Error(`--only: no mutation ${id}`);

const started = Date.now();
if (!args.includes('--no-build')) {
  console.log('building (tsc -p .)');
  const b = spawnSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: repo, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

const testFiles = fs
  .readdirSync(testsOut)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => [FIRST.includes(f) ? FIRST.indexOf(f) : FIRST.length, f])
  .sort(([ra, a], [rb, b]) => ra - rb || a.localeCompare(b))
  .map(([, f]) => f)
  .map((f) => path.join(testsOut, f));
console.log(`baseline: ${testFiles.length} engine test files, unmutated`);
const baseline = runTests(testFiles);
if (baseline) {
  console.error(`the unmutated engine fails ${baseline.file}: ${baseline.test}; fix that first`);
  process.exit(1);
}

const originals = new Map(walk(engineOut).map((f) => [f, fs.readFileSync(f, 'utf8')]));
const restore = () => {
  for (const [f, text] of originals) if (fs.readFileSync(f, 'utf8') !== text) fs.writeFileSync(f, text);
};
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    restore();
    process.exit(130);
  });

const results = [];
for (const m of mutations) {
  if (only && !only.has(m.id)) continue;
  const t0 = Date.now();
  // Apply every edit to an in-memory copy first: a snippet that is missing or ambiguous fails the
  // entry before anything is written.
  const changed = new Map();
  let problem;
  for (const e of m.edits) {
    const want = e.count ?? 1;
    const hits = [...originals.keys()].map((f) => [f, countOf(changed.get(f) ?? originals.get(f), e.find)]).filter(([, n]) => n > 0);
    const total = hits.reduce((a, [, n]) => a + n, 0);
    if (total !== want) {
      problem = `snippet found ${total} time(s), expected ${want}: ${JSON.stringify(e.find)}${hits.length ? ` (in ${hits.map(([f]) => path.relative(repo, f)).join(', ')})` : ''}`;
      break;
    }
    for (const [f] of hits) changed.set(f, (changed.get(f) ?? originals.get(f)).split(e.find).join(e.replace));
  }
  if (problem) {
    results.push({ id: m.id, status: 'not-found', detail: problem, seconds: 0 });
    console.log(`NOT FOUND ${m.id}: ${problem}`);
    continue;
  }
  let failure;
  try {
    for (const [f, text] of changed) fs.writeFileSync(f, text);
    failure = runTests(testFiles);
  } finally {
    restore();
  }
  const seconds = (Date.now() - t0) / 1000;
  const status = failure ? 'killed' : 'survived';
  results.push({ id: m.id, status, detail: failure ? `${failure.file}: ${failure.test}` : m.why, seconds });
  console.log(`${status.toUpperCase().padEnd(8)} ${m.id} (${seconds.toFixed(1)} s)${failure ? ` by ${failure.file}: ${failure.test}` : `: ${m.why}`}`);
}

const count = (s) => results.filter((r) => r.status === s).length;
const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(
  `\nmutations: ${results.length}, killed ${count('killed')}, survived ${count('survived')}, snippet not found ${count('not-found')} (${minutes} min)`,
);
for (const r of results.filter((x) => x.status !== 'killed')) console.log(`  ${r.status}: ${r.id}: ${r.detail}`);
process.exit(count('survived') + count('not-found') > 0 ? 1 : 0);
