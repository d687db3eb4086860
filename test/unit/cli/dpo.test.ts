// The `dpo` command as a user runs it: a child process, flags, exit codes and files.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, useTestBackend, writeJsonl } from '../helpers/fixtures';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { NaiveLM } from '../helpers/naive-lm';
import { readModelWeights } from '../../../src/engine/model/checkpoint';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('cli');

function dpo(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dpo CLI', () => {
  before(useTestBackend);

  it('--help lists the commands; each command lists every flag with its default', () => {
    const top = dpo('--help');
    assert.equal(top.code, 0);
    assert.match(top.stdout, /make-tiny-model/);
    assert.match(top.stdout, /logps/);
    const make = dpo('make-tiny-model', '--help');
    for (const flag of ['--out', '--family', '--layers', '--d-model', '--heads', '--kv-heads', '--vocab', '--seed'])
      assert.match(make.stdout, new RegExp(flag));
    assert.match(make.stdout, /--layers <n>\s+transformer blocks \(default: 2\)/);
    const logps = dpo('logps', '--help').stdout.replace(/\s+/g, ' ');
    assert.match(logps, /--batch-size <n> pairs per forward pass \(default: 8\)/);
    assert.match(
      logps,
      /--backend <name> force a TensorFlow\.js backend \(default: the fastest that loads\) \(choices: "tfjs-node-gpu", "webgpu", "tfjs-node", "wasm", "cpu"\)/,
    );
  });

  it('bad flags exit 2 with the usage', () => {
    const r = dpo('make-tiny-model', '--out', path.join(root, 'x'), '--layers', 'two');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /option '--layers <n>' argument 'two' is invalid\. must be a positive integer/);
  });

  it('make-tiny-model then logps: one line per pair, equal to the naive reference', () => {
    const model = path.join(root, 'model');
    const made = dpo('make-tiny-model', '--out', model, '--family', 'llama', '--kv-heads', '2', '--seed', '3');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /wrote llama model with [\d,]+ parameters/);
    const data = writeJsonl(path.join(root, 'pairs.jsonl'), [
      { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
      { prompt: [{ role: 'user', content: '2+2?' }], chosen: [{ role: 'assistant', content: '4' }], rejected: [{ role: 'assistant', content: '5' }] },
    ]);
    const out = path.join(root, 'logps.jsonl');
    const r = dpo('logps', '--model', model, '--data', data, '--out', out, '--batch-size', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^backend wasm/m);
    const rows = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((x) => Object.keys(x)),
      Array(2).fill(['line', 'chosen_logp', 'rejected_logp', 'chosen_tokens', 'rejected_tokens']),
    );
    assert.deepEqual(
      rows.map((x) => [x.line, x.chosen_tokens, x.rejected_tokens]),
      [
        [1, 7, 8],
        [2, 3, 3],
      ],
    );
    const { config, weights } = readModelWeights(model);
    const naive = new NaiveLM(config, weights);
    const tok = loadTokenizer(model);
    const prompt = tok.encode('The sky is');
    const want = naive.responseLogp(prompt, [...tok.encode(' blue.'), 256]);
    assert.ok(Math.abs(rows[0].chosen_logp - want) < 1e-4, `${rows[0].chosen_logp} vs ${want}`);
    loadModel(model).model.dispose();
  });

  it('bad data: exit 1 with every problem listed; --skip-bad-lines goes on and says how many', () => {
    const model = path.join(root, 'model');
    const data = writeJsonl(path.join(root, 'bad.jsonl'), [{ prompt: 'a', chosen: 'b', rejected: 'c' }, 'oops', { prompt: 'a', chosen: 'b' }]);
    const out = path.join(root, 'bad-out.jsonl');
    const r = dpo('logps', '--model', model, '--data', data, '--out', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 line\(s\) cannot be used for training/);
    assert.match(r.stderr, /bad\.jsonl:2: not valid JSON/);
    assert.match(r.stderr, /bad\.jsonl:3: field 'rejected': missing/);
    assert.ok(!fs.existsSync(out), 'no output file on failure');
    const ok = dpo('logps', '--model', model, '--data', data, '--out', out, '--skip-bad-lines');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /skipped 2 unusable line\(s\)/);
    assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length, 1);
  });

  it('train: flags and a config file (relative paths resolve against it), progress, metrics, final model', () => {
    const data = writeJsonl(
      path.join(root, 'train.jsonl'),
      Array.from({ length: 12 }, (_, i) => ({ prompt: `p${i}`, chosen: ' good', rejected: ' bad' })),
    );
    const cfgFile = path.join(root, 'run.dpo.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ $schema: 'x', model: 'model', data: 'train.jsonl', max_steps: 3, batch_size: 2, beta: 0.2 }));
    const out = path.join(root, 'run1');
    const r = dpo('train', '--config', cfgFile, '--out', out, '--beta', '0.3', '--eval-fraction', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /step 3\/3 \[.*\]\s+loss \d\.\d{4}\s+margin -?\d\.\d{4}\s+acc \d\.\d\d .* ETA/);
    assert.match(r.stderr, /done: 3 steps; final model in .*run1\/final/);
    assert.equal(r.stderr.match(/done: /g)?.length, 1, `"done" is printed once: ${r.stderr}`);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(cfg.beta, 0.3, 'flags override the file');
    assert.equal(cfg.data, data, 'relative to the config file');
    const records = fs
      .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      records.filter((r) => r.kind === 'metrics').map((r) => `${r.split}@${r.step}`),
      ['train@1', 'train@2', 'train@3'],
    );
    assert.deepEqual(
      records.filter((r) => r.kind === 'status').map((r) => `${r.status}@${r.step}/${r.total_steps} ${r.engine}`),
      ['running@0/3 tfjs', 'completed@3/3 tfjs'],
    );
  });

  it('train --run-name names the run: its folder is .dpo/runs/<name> in the current folder; a bad name is refused', () => {
    const cwd = tempDir('cli-run-name');
    const data = writeJsonl(
      path.join(cwd, 'train.jsonl'),
      Array.from({ length: 4 }, (_, i) => ({ prompt: `p${i}`, chosen: ' good', rejected: ' bad' })),
    );
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, 'train', '--model', path.join(root, 'model'), '--data', data, ...args], { encoding: 'utf8', cwd });
      return { code: r.status, stderr: r.stderr };
    };
    const ok = run('--run-name', 'beta-0.3 first try', '--max-steps', '1', '--batch-size', '2', '--eval-fraction', '0');
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(fs.existsSync(path.join(cwd, '.dpo', 'runs', 'beta-0.3 first try', 'final', 'model.safetensors')), ok.stderr);
    const bad = run('--run-name', 'a/b');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /a run name is a folder name: no \/ /);
    const both = run('--run-name', 'x', '--out', path.join(cwd, 'y'));
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /give --run-name or --out, not both/);
  });

  it('train: a bad config names every bad field and exits 1', () => {
    const r = dpo(
      'train',
      '--model',
      path.join(root, 'model'),
      '--data',
      path.join(root, 'train.jsonl'),
      '--beta',
      '0',
      '--learning-rate',
      '0',
      '--out',
      path.join(root, 'bad-run'),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /flags: 2 invalid field\(s\):/);
    assert.match(r.stderr, /beta: must be > 0/);
    assert.match(r.stderr, /learning_rate: must be > 0/);
  });

  it('train: an enum flag lists its choices and refuses others; a missing model folder is named before any run folder exists', () => {
    const help = dpo('train', '--help').stdout.replace(/\s+/g, ' ');
    assert.match(help, /--lr-scheduler-type <value> .*\(choices: "linear", "cosine", "constant"\)/);
    const bad = dpo('train', '--model', path.join(root, 'model'), '--data', path.join(root, 'train.jsonl'), '--lr-scheduler-type', 'step');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /argument 'step' is invalid\. Allowed choices are linear, cosine, constant/);
    const out = path.join(root, 'no-model-run');
    const r = dpo('train', '--model', path.join(root, 'no-such-model'), '--data', path.join(root, 'train.jsonl'), '--out', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /model folder not found: .*no-such-model/);
    assert.equal(fs.existsSync(out), false, 'no stub run folder is left behind');
  });

  it('train: --loss-type a,b and --loss-weights x,y give a loss list; a bad member or weight count is named', () => {
    const out = path.join(root, 'rpo-run');
    const args = ['train', '--model', path.join(root, 'model'), '--data', path.join(root, 'train.jsonl'), '--max-steps', '1', '--eval-fraction', '0'];
    const r = dpo(...args, '--out', out, '--loss-type', 'sigmoid,sft', '--loss-weights', '1,0.5');
    assert.equal(r.code, 0, r.stderr);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.deepEqual(
      [cfg.loss_type, cfg.loss_weights],
      [
        ['sigmoid', 'sft'],
        [1, 0.5],
      ],
    );
    const kto = dpo(...args, '--out', path.join(root, 'bad-list'), '--loss-type', 'sigmoid,kto');
    assert.equal(kto.code, 1);
    assert.match(kto.stderr, /loss_type: must be equal to one of the allowed values: .*, or a list of/);
    const count = dpo(...args, '--out', path.join(root, 'bad-weights'), '--loss-type', 'sigmoid,sft', '--loss-weights', '1');
    assert.equal(count.code, 1);
    assert.match(count.stderr, /loss_weights: has 1 weight\(s\) for 2 loss type\(s\)/);
    assert.equal(dpo(...args, '--loss-weights', '1,x').code, 2, 'a weight that is not a number is refused by the flag');
  });

  it('--version prints the package version; a required option says so in the help', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../../package.json'), 'utf8'));
    assert.equal(dpo('--version').stdout.trim(), pkg.version);
    assert.match(dpo('make-tiny-model', '--help').stdout, /--out <dir>\s+\(required\) output folder/);
    // Flag paths resolve against the current folder, a config file's against its folder: the help says both.
    assert.match(
      dpo('train', '--help').stdout,
      /--model <value>\s+Policy model folder .*Relative paths are resolved against the current folder \(in a config file: its folder\)\. \(required\)/,
    );
  });

  it('train --help lists every config field as a flag with its default', () => {
    const help = dpo('train', '--help').stdout.replace(/\s+/g, ' ');
    assert.match(help, /--beta <value> β: strength of the KL penalty .* \(default: 0\.1\)/);
    assert.match(help, /--precompute-ref-log-probs \[bool\]/);
    assert.match(help, /--resume <run-dir>/);
  });

  it('a model folder with pickle weights is refused with the reason', () => {
    const dir = path.join(root, 'pickle');
    fs.cpSync(path.join(root, 'model'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), '');
    const r = dpo('logps', '--model', dir, '--data', path.join(root, 'pairs.jsonl'), '--out', path.join(root, 'p.jsonl'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pickle\/\.bin weights are refused because loading them can execute code/);
  });
});
