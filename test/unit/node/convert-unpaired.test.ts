// "DPO: Convert Paired ↔ Unpaired" picks the direction from the file's lines and the file beside it;
// the conversion is `dpo convert` (test/unit/cli/convert-unpaired.test.ts), here run as the command
// runs it, with --skip-bad-lines: bad lines are listed by file line, the rest converted in TRL's order.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { convertedPath, directionOfFile } from '../../../src/node/convert-unpaired';

const cli = path.resolve(__dirname, '../../../../bin/dpo.js');
const readLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);

describe('convert command: direction and target', () => {
  it('a file of mostly unpaired lines converts to pairs, anything else to unpaired lines', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-convert-'));
    try {
      const file = path.join(dir, 'a.jsonl');
      fs.writeFileSync(
        file,
        '{"prompt":"P","completion":"x","label":true}\n{not json\n\n{"prompt":"P","completion":"y","label":false}\n{"prompt":"P","chosen":"a","rejected":"b"}\n',
      );
      assert.equal(directionOfFile(file), 'to-paired');
      fs.writeFileSync(file, '{"prompt":"P","completion":"x","label":true}\n{"prompt":"P","chosen":"a","rejected":"b"}\n');
      assert.equal(directionOfFile(file), 'to-unpaired', 'a tie goes to unpaired');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(convertedPath('/d/prefs.jsonl', 'to-unpaired'), '/d/prefs.unpaired.jsonl');
    assert.equal(convertedPath('/d/prefs.unpaired.jsonl', 'to-paired'), '/d/prefs.paired.jsonl');
    assert.equal(convertedPath('/d/prefs.paired.JSONL', 'to-unpaired'), '/d/prefs.unpaired.jsonl');
  });

  it('as the command runs it: bad lines named by file line, the rest converted and back again', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-convert-'));
    try {
      const file = path.join(dir, 'prefs.jsonl');
      fs.writeFileSync(
        file,
        ['{"prompt": "Q", "chosen": " y", "rejected": " n"}', '', '{not json', '{"prompt": "R", "chosen": " a", "rejected": " b"}'].join('\n') + '\n',
      );
      const un = convertedPath(file, directionOfFile(file));
      const r = spawnSync(process.execPath, [cli, 'convert', file, un, '--to', 'unpaired', '--skip-bad-lines'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /wrote 4 line\(s\) as unpaired/);
      assert.match(r.stderr, /skipped 1 unusable line\(s\):\n {2}.*prefs\.jsonl:3/);
      // TRL's order: a block's chosen lines, then its rejected ones.
      assert.deepEqual(readLines(un), [
        { prompt: 'Q', completion: ' y', label: true },
        { prompt: 'R', completion: ' a', label: true },
        { prompt: 'Q', completion: ' n', label: false },
        { prompt: 'R', completion: ' b', label: false },
      ]);
      assert.equal(directionOfFile(un), 'to-paired');
      const back = convertedPath(un, 'to-paired');
      const r2 = spawnSync(process.execPath, [cli, 'convert', un, back, '--to', 'paired', '--skip-bad-lines'], { encoding: 'utf8' });
      assert.equal(r2.status, 0, r2.stderr);
      assert.deepEqual(readLines(back), [
        { prompt: 'Q', chosen: ' y', rejected: ' n' },
        { prompt: 'R', chosen: ' a', rejected: ' b' },
      ]);
      const stop = spawnSync(process.execPath, [cli, 'convert', file, un, '--to', 'unpaired'], { encoding: 'utf8' });
      assert.notEqual(stop.status, 0, 'without --skip-bad-lines a bad line stops the conversion');
      assert.match(stop.stderr, /prefs\.jsonl:3/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
