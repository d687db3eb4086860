// The precomputed reference log-probs (precompute_ref_log_probs) must never be read stale: a run is
// stopped after step 1, one input of the reference log-probs changes, and the resumed step 2 must
// match an independent float64 computation with the changed input (helpers/dpo-oracle.ts).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, useTestBackend } from '../helpers/fixtures';
import { PairText, byteIds, expectPairs, naiveModel } from '../helpers/dpo-oracle';
import { WIRING_PAIRS, close, pairsAt, sharpModel, wiringResume, wiringRun, writePairs } from '../helpers/wiring-runs';
import { readModelWeights, saveWeights } from '../../../src/engine/model/checkpoint';

const root = tempDir('ref-cache');
const BETA = 0.3;

interface Change {
  rows?: PairText[];
  maxLength?: number;
  maxPromptLength?: number | null;
  /** Token id that ends responses (the tokenizer's eos). */
  eos?: number;
}

interface Setup {
  policy: string;
  reference: string;
  data: string;
  dir: string;
}

/** Fresh model and data folders (the tests change them), and a run stopped after step 1. */
async function stoppedRun(name: string): Promise<Setup> {
  const base = path.join(root, name);
  const s: Setup = {
    policy: sharpModel(path.join(base, 'policy'), 1),
    reference: sharpModel(path.join(base, 'reference'), 2),
    data: writePairs(path.join(base, 'pairs.jsonl')),
    dir: path.join(base, 'run'),
  };
  let steps = 0;
  const run = await wiringRun(
    s.dir,
    {
      model: s.policy,
      reference_model: s.reference,
      data: s.data,
      beta: BETA,
      precompute_ref_log_probs: true,
      max_steps: 2,
    },
    { shouldStop: () => ++steps === 1 },
  );
  assert.equal(run.result!.reason, 'stopped');
  return s;
}

/** Resumes and checks step 2 against the changed inputs. */
async function resumeAndCheck(s: Setup, change: Change): Promise<void> {
  const run = await wiringResume(s.dir);
  assert.equal(run.result!.reason, 'completed');
  const ids = byteIds(change.rows ?? WIRING_PAIRS, { maxLength: change.maxLength ?? 64, maxPromptLength: change.maxPromptLength, eos: change.eos });
  const policy = naiveModel(path.join(s.dir, 'checkpoints', 'step-1'));
  const want = expectPairs(ids, policy, naiveModel(s.reference), { beta: BETA });
  const got = pairsAt(run, 2, 'train');
  assert.deepEqual([...got.keys()].sort(), want.map((p) => p.line).sort(), 'step 2 pair lines');
  for (const p of want) {
    close(`line ${p.line} rejected_reward`, got.get(p.line)!.rejected_reward, p.rejectedReward);
    close(`line ${p.line} chosen_reward`, got.get(p.line)!.chosen_reward, p.chosenReward);
  }
}

function editRunConfig(dir: string, fields: Record<string, unknown>): void {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...fields }, null, 2));
}

describe('reference log-prob cache: a changed input is recomputed, never read stale', () => {
  before(useTestBackend);
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('unchanged inputs: the resumed run reuses the cache and gets the same numbers', async () => {
    const s = await stoppedRun('same');
    await resumeAndCheck(s, {});
    assert.equal(fs.readdirSync(path.join(s.dir, 'ref-logps')).length, 1, 'one cache entry');
  });

  it('data file content changed in place (same path, same lines)', async () => {
    const s = await stoppedRun('data');
    const rows = WIRING_PAIRS.map((r, i) => ({ ...r, chosen: r.rejected, rejected: `${r.chosen} (v${i})` }));
    writePairs(s.data, rows);
    await resumeAndCheck(s, { rows });
  });

  it('reference weights changed in place', async () => {
    const s = await stoppedRun('weights');
    const other = readModelWeights(sharpModel(path.join(root, 'weights', 'other'), 3));
    saveWeights(s.reference, other.config, other.weights);
    await resumeAndCheck(s, {});
  });

  it("tokenizer changed (the policy folder's, which tokenizes the data, with a separate reference)", async () => {
    const s = await stoppedRun('tokenizer');
    const file = path.join(s.policy, 'tokenizer_config.json');
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...config, eos_token: '<|im_end|>' })); // id 258
    await resumeAndCheck(s, { eos: 258 });
  });

  it('max_length changed', async () => {
    const s = await stoppedRun('max-length');
    editRunConfig(s.dir, { max_length: 20 });
    await resumeAndCheck(s, { maxLength: 20 });
  });

  it('max_prompt_length changed', async () => {
    const s = await stoppedRun('max-prompt-length');
    editRunConfig(s.dir, { max_prompt_length: 8 });
    await resumeAndCheck(s, { maxPromptLength: 8 });
  });
});
