// The README's first command: the embedded demo must run offline and show DPO working.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');

describe('dpo demo', () => {
  it('makes a model, SFTs, runs DPO, and the held-out margin and accuracy rise', () => {
    const out = path.join(tempDir('demo'), 'demo');
    const r = spawnSync(process.execPath, [BIN, 'demo', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const m = /held-out reward margin (-?[\d.]+) -> (-?[\d.]+), accuracy ([\d.]+) -> ([\d.]+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const [margin0, margin1, acc0, acc1] = m.slice(1).map(Number);
    assert.equal(margin0, 0);
    assert.ok(margin1 > 0.5, `final held-out margin ${margin1}`);
    assert.equal(acc0, 0);
    assert.ok(acc1 >= 0.6, `final held-out accuracy ${acc1}`);
    assert.ok(fs.existsSync(path.join(out, 'dpo', 'final', 'model.safetensors')));
    // The tuned model answers the example prompts in words, not "pppp…" (SFT first makes that so).
    const grass = /probe \(greedy\): "Q: Which color is the grass\?\\nA:"\n\s+policy: (.*)/.exec(r.stdout);
    assert.ok(grass, r.stdout);
    assert.match(grass[1], /^ ?The grass is \w+/, `the tuned model's answer: ${grass[1]}`);
  });
});
