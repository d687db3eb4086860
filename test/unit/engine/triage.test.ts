import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flaggedPrecisionRecall, flipProbability, noiseEstimate, rankPairs } from '../../../src/protocol/triage-rank';
import { implicitMargins } from '../../../src/engine/triage/margins';
import { runTriage, runOfModel } from '../../../src/cli/triage';
import { tempDir, tinyModel, useTestBackend, writeJsonl } from '../helpers/fixtures';
import { torchPython } from '../../../src/node/torch-env';
import { writeLogps } from '../../../src/engine/dpo/logps-file';
import { readLogpsFile } from '../../../src/engine/triage/margins';
import { computeRefLogps } from '../../../src/engine/dpo/ref-cache';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { tokenizePairs } from '../../../src/engine/data/tokenize';
import { readPreferenceFile } from '../../../src/engine/data/preferences';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { buildProgram } from '../../../src/cli/main';

const root = tempDir('triage');
const margins = (entries: [number, number][]) => new Map(entries);

describe('triage ranking', () => {
  it('ranks the pairs the model most disagrees with first: σ(−margin), then margin, then line', () => {
    const rows = rankPairs([
      {
        model: 'final',
        margins: margins([
          [1, 2],
          [2, -3],
          [3, 0.5],
          [4, -0.1],
          [5, -3],
        ]),
      },
    ]);
    assert.deepEqual(
      rows.map((r) => r.line),
      [2, 5, 4, 3, 1],
    );
    assert.ok(Math.abs(rows[0].score - 1 / (1 + Math.exp(-3))) < 1e-12);
    assert.equal(rows[0].agreement, 1);
    assert.equal(rows[4].agreement, 0);
    assert.equal(rows[0].checkpoints, undefined);
  });

  it('averages over checkpoints: a pair flagged at every checkpoint outranks one flagged by the final model only', () => {
    const rows = rankPairs([
      {
        model: 'final',
        margins: margins([
          [1, -1],
          [2, -0.8],
          [3, 1],
        ]),
      },
      {
        model: 'step-10',
        margins: margins([
          [1, 3],
          [2, -0.8],
          [3, 1],
        ]),
      },
    ]);
    assert.deepEqual(
      rows.map((r) => r.line),
      [2, 1, 3],
    );
    assert.equal(rows[0].agreement, 1);
    assert.equal(rows[1].agreement, 0.5);
    assert.deepEqual(rows[1].checkpoints, [
      { model: 'final', margin: -1 },
      { model: 'step-10', margin: 3 },
    ]);
  });

  it('σ(−margin) is stable for large margins and 0.5 at zero', () => {
    assert.equal(flipProbability(0), 0.5);
    assert.equal(flipProbability(-1000), 1);
    assert.equal(flipProbability(1000), 0);
  });

  it('margins are β times the policy-minus-reference log-ratio difference', () => {
    const m = implicitMargins(margins([[3, 0]]) as never, new Map(), 0.1);
    assert.equal(m.size, 0, 'lines the reference did not score are left out');
    const got = implicitMargins(new Map([[3, { chosen_logp: -10, rejected_logp: -12 }]]), new Map([[3, { chosen_logp: -11, rejected_logp: -11 }]]), 0.5);
    assert.equal(got.get(3), 0.5 * (1 - -1));
  });

  it('precision/recall of the top k and the noise estimate behind the label_smoothing suggestion', () => {
    const rows = rankPairs([
      {
        model: 'final',
        margins: margins([
          [1, -2],
          [2, -1],
          [3, 1],
          [4, 2],
        ]),
      },
    ]);
    assert.deepEqual(flaggedPrecisionRecall(rows, new Set([1, 3]), 2), { precision: 0.5, recall: 0.5, hits: 1 });
    const n = noiseEstimate(5, 20, 100);
    assert.equal(n.reviewedRate, 0.25);
    assert.equal(n.remainingRate, 0.2);
    assert.equal(n.labelSmoothing, 0.2);
    assert.equal(noiseEstimate(20, 20, 20).labelSmoothing, 0, 'everything reviewed: nothing left to smooth');
  });
});

describe('dpo triage on a model and its reference', () => {
  before(useTestBackend);

  it("finds the reference of a run's final/ model, and a model against itself ranks every pair at margin 0", async () => {
    assert.equal(runOfModel('/x/run-1/final'), '/x/run-1');
    assert.equal(runOfModel('/x/run-1/checkpoints/step-4'), '/x/run-1');
    assert.equal(runOfModel('/x/model'), undefined);
    const model = tinyModel(path.join(root, 'm'), { layers: 1, dModel: 16, heads: 2 });
    const data = writeJsonl(path.join(root, 'd.jsonl'), [
      { prompt: 'a', chosen: ' b', rejected: ' c' },
      { prompt: 'x', chosen: ' yy', rejected: ' z' },
    ]);
    await assert.rejects(
      runTriage({
        modelDir: model,
        dataFile: data,
        outFile: path.join(root, 'o.jsonl'),
        checkpointDirs: [],
        engine: 'tfjs',
        batchSize: 4,
        log: () => undefined,
      }),
      /pass --reference/,
    );
    const r = await runTriage({
      modelDir: model,
      referenceDir: model,
      dataFile: data,
      outFile: path.join(root, 'o.jsonl'),
      checkpointDirs: [],
      engine: 'tfjs',
      batchSize: 4,
      log: () => undefined,
    });
    assert.deepEqual(
      r.rows.map((row) => [row.line, row.margin, row.score]),
      [
        [1, 0, 0.5],
        [2, 0, 0.5],
      ],
    );
    const written = fs
      .readFileSync(path.join(root, 'o.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      written.map((w) => w.line),
      [1, 2],
    );
  });

  it('--engine torch ranks the same pairs with the same margins as the embedded engine (or says how to set it up)', async () => {
    const policy = tinyModel(path.join(root, 'p'), { layers: 1, dModel: 16, heads: 2, seed: 5 });
    const reference = tinyModel(path.join(root, 'r'), { layers: 1, dModel: 16, heads: 2, seed: 6 });
    const data = writeJsonl(path.join(root, 'd3.jsonl'), [
      { prompt: 'the plot was', chosen: ' great.', rejected: ' dull.' },
      { prompt: 'a', chosen: ' b', rejected: ' c' },
      { prompt: 'x', chosen: ' yy', rejected: ' z' },
    ]);
    const job = { modelDir: policy, referenceDir: reference, dataFile: data, checkpointDirs: [], batchSize: 4, log: () => undefined };
    if (!fs.existsSync(torchPython())) {
      await assert.rejects(runTriage({ ...job, outFile: path.join(root, 't.jsonl'), engine: 'torch' }), /dpo setup-torch/);
      return;
    }
    const tfjs = await runTriage({ ...job, outFile: path.join(root, 'tf.jsonl'), engine: 'tfjs' });
    const torch = await runTriage({ ...job, outFile: path.join(root, 'pt.jsonl'), engine: 'torch' });
    assert.deepEqual(
      torch.rows.map((r) => r.line),
      tfjs.rows.map((r) => r.line),
    );
    torch.rows.forEach((r, i) => assert.ok(Math.abs(r.margin - tfjs.rows[i].margin) < 1e-4, `line ${r.line}: torch ${r.margin}, tfjs ${tfjs.rows[i].margin}`));
  });
});

describe('triage and reference precompute speed-ups keep the numbers', () => {
  before(useTestBackend);

  it('batching pairs by length (triage, reference precompute) gives each line the log-probs it gets alone', async () => {
    const model = tinyModel(path.join(root, 'sorted-m'), { layers: 1, dModel: 16, heads: 2, seed: 9 });
    // Lengths that differ a lot, in an order that sorting changes: padding differs between batchings.
    const rows = [' a', ' bbbbbbbbbbbbbbbbbbbbbbbb', ' cc', ' dddddddddddd', ' e', ' ffffffffffffffffffff'].map((r, i) => ({
      prompt: 'p'.repeat(1 + ((i * 7) % 5)),
      chosen: r,
      rejected: ` z${r.slice(2)}q`,
    }));
    const data = writeJsonl(path.join(root, 'sorted.jsonl'), rows);
    const alone = path.join(root, 'alone.jsonl');
    const sorted = path.join(root, 'sorted-out.jsonl');
    await writeLogps({ modelDir: model, dataFile: data, outFile: alone, batchSize: 1, skipBadLines: false });
    await writeLogps({ modelDir: model, dataFile: data, outFile: sorted, batchSize: 4, skipBadLines: false, sortByLength: true });
    const a = readLogpsFile(alone);
    const s = readLogpsFile(sorted);
    // Written shortest first, each line with its own number.
    const order = fs
      .readFileSync(sorted, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { line: number }).line);
    assert.notDeepEqual(order, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...order].sort(), [1, 2, 3, 4, 5, 6]);
    for (const [line, p] of a) {
      assert.ok(Math.abs(p.chosen_logp - s.get(line)!.chosen_logp) < 1e-4, `line ${line} chosen`);
      assert.ok(Math.abs(p.rejected_logp - s.get(line)!.rejected_logp) < 1e-4, `line ${line} rejected`);
    }
    // The reference precompute batches the same way and keys by line.
    const tokenizer = loadTokenizer(model);
    const pairs = tokenizePairs(tokenizer, readPreferenceFile(data, { skipBadLines: false }).pairs, { maxLength: 64 }).pairs;
    const { model: lm } = loadModel(model, { trainable: false });
    try {
      const cached = await computeRefLogps(lm, pairs, 4, tokenizer.padId ?? 0);
      for (const [line, p] of a) {
        assert.ok(Math.abs(cached.get(line)![0] - p.chosen_logp) < 1e-4, `reference line ${line}`);
        assert.ok(Math.abs(cached.get(line)![1] - p.rejected_logp) < 1e-4, `reference line ${line}`);
      }
    } finally {
      lm.dispose();
    }
  });

  it('dpo triage takes --threads (0 = every core) and refuses a negative count', async () => {
    const triage = buildProgram().commands.find((c) => c.name() === 'triage')!;
    const threads = triage.options.find((o) => o.long === '--threads');
    assert.ok(threads, 'no --threads option');
    assert.equal(threads.defaultValue, 0);
    const program = buildProgram();
    program.commands.find((c) => c.name() === 'triage')!.configureOutput({ writeErr: () => undefined });
    await assert.rejects(
      program.parseAsync(['node', 'dpo', 'triage', '--model', 'm', '--data', 'd', '--out', 'o', '--threads', '-1']),
      (err: Error & { code?: string }) => err.code === 'commander.invalidArgument' && /'--threads <n>'.*must be a whole number, 0 or more/.test(err.message),
    );
  });
});
