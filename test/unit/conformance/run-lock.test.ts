// test/conformance/run-lock: lock file states -> acquired or refused, on the embedded engine's
// acquireRunLock (python/tests/test_conformance.py runs the same cases on run_lock.py).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCK_FILE, RunLockError, acquireRunLock } from '../../../src/engine/train/run-lock';
import { loadCases } from './cases';

interface LockCase {
  lock: { json?: Record<string, unknown>; text?: string } | null;
  expect: { outcome: 'acquired' | 'refused'; contains: string[] };
}

const dead = spawnSync(process.execPath, ['-e', '']).pid;
const vars: Record<string, string | number> = { $DEAD_PID: dead, $LIVE_PID: process.ppid, $OWN_PID: process.pid, $HOST: os.hostname() };
const subst = (s: string) => Object.entries(vars).reduce((t, [k, v]) => t.split(k).join(String(v)), s);
const fill = (v: unknown): unknown => (typeof v === 'string' && v in vars ? vars[v] : v);

for (const doc of loadCases<LockCase>('run-lock')) {
  describe(`conformance: ${doc.file}`, () => {
    for (const c of doc.cases) {
      it(c.name, () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-lock-'));
        const file = path.join(dir, LOCK_FILE);
        try {
          if (c.lock?.json) fs.writeFileSync(file, JSON.stringify(Object.fromEntries(Object.entries(c.lock.json).map(([k, v]) => [k, fill(v)]))) + '\n');
          if (c.lock?.text !== undefined) fs.writeFileSync(file, c.lock.text);
          const before = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
          if (c.expect.outcome === 'acquired') {
            const release = acquireRunLock(dir);
            const held = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; host: string };
            assert.deepEqual([held.pid, held.host], [process.pid, os.hostname()]);
            release();
            assert.ok(!fs.existsSync(file), 'released');
          } else {
            assert.throws(
              () => acquireRunLock(dir),
              (err: Error) => {
                assert.ok(err instanceof RunLockError, String(err));
                for (const part of c.expect.contains) {
                  const want = subst(part).replace('{dir}', dir).replace('{file}', file);
                  assert.ok(err.message.includes(want), `${err.message} lacks ${want}`);
                }
                return true;
              },
            );
            assert.deepEqual(fs.readFileSync(file), before, 'a refused lock is left as it was');
          }
          assert.deepEqual(
            fs.readdirSync(dir).filter((f) => f !== LOCK_FILE),
            [],
            'no temp or stale files left',
          );
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
