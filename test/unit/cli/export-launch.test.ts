// `dpo export-launch`: a Slurm-ready script and an accelerate config for a torch-engine run.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/fixtures';

const BIN = path.resolve(__dirname, '../../../../bin/dpo.js');
const root = tempDir('export');
after(() => fs.rmSync(root, { recursive: true, force: true }));

const dpo = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('dpo export-launch', () => {
  it('writes launch.sh (valid bash, SBATCH shape, per-node rank and main address), accelerate.yaml and run.json', () => {
    const cfg = path.join(root, 'run.dpo.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        model: 'model',
        data: 'pairs.jsonl',
        output_dir: 'runs/big',
        engine: 'torch',
        dtype: 'bf16',
        accelerate_config: 'deepspeed_zero3',
        lora_r: 16,
      }),
    );
    const r = dpo('export-launch', cfg, '--nodes', '2', '--gpus-per-node', '4');
    assert.equal(r.status, 0, r.stderr);
    const dir = path.join(root, 'launch');
    const script = fs.readFileSync(path.join(dir, 'launch.sh'), 'utf8');
    assert.equal(spawnSync('bash', ['-n', path.join(dir, 'launch.sh')]).status, 0, 'bash -n accepts the script');
    assert.match(script, /#SBATCH --nodes=2/);
    assert.match(script, /#SBATCH --gpus-per-node=4/);
    assert.match(script, /--machine_rank "\$NODE_RANK" --main_process_ip "\$MAIN_ADDR"/);
    assert.match(script, /--num_machines 2 --num_processes 8/);
    assert.match(script, /-m dpo_studio\.worker @/);
    const yaml = fs.readFileSync(path.join(dir, 'accelerate.yaml'), 'utf8');
    assert.match(yaml, /distributed_type: DEEPSPEED/);
    assert.match(yaml, /zero_stage: 3/);
    assert.match(yaml, /mixed_precision: bf16/);
    assert.match(yaml, /num_processes: 8/);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    assert.equal(spec.config.output_dir, path.join(root, 'runs/big'));
    assert.equal(spec.config.num_processes, 8);
    assert.equal(spec.config.lora_r, 16);
  });

  it('copies a YAML accelerate_config and passes the machine and process counts on the command line (1 node x 8 GPUs by default)', () => {
    const dir = path.join(root, 'own');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'mine.yaml'), 'distributed_type: MULTI_GPU\nmixed_precision: fp16\n');
    const cfg = path.join(dir, 'own.dpo.json');
    fs.writeFileSync(cfg, JSON.stringify({ model: 'm', data: 'd.jsonl', output_dir: 'out', accelerate_config: 'mine.yaml' }));
    const r = dpo('export-launch', cfg, '--out', path.join(dir, 'files'), '--port', '29611');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'files', 'accelerate.yaml'), 'utf8'), 'distributed_type: MULTI_GPU\nmixed_precision: fp16\n');
    const script = fs.readFileSync(path.join(dir, 'files', 'launch.sh'), 'utf8');
    assert.match(script, /#SBATCH --nodes=1\n/);
    assert.match(script, /#SBATCH --gpus-per-node=8\n/);
    assert.match(script, /--main_process_port 29611/);
    assert.match(script, /--num_machines 1 --num_processes 8/);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'files', 'run.json'), 'utf8'));
    assert.equal(spec.config.accelerate_config, path.join(dir, 'mine.yaml'));
    assert.equal(spec.resume, false);
    assert.match(r.stderr, new RegExp(`wrote ${path.join(dir, 'files', 'launch.sh')}`));
  });

  it('names a missing accelerate_config file', () => {
    const cfg = path.join(root, 'nofile.dpo.json');
    fs.writeFileSync(cfg, JSON.stringify({ model: 'm', data: 'd', output_dir: 'o', accelerate_config: 'gone.yaml' }));
    const r = dpo('export-launch', cfg);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`accelerate_config: ${path.join(root, 'gone.yaml')} not found`));
  });

  it('refuses a config the torch engine cannot run, naming the field', () => {
    const cfg = path.join(root, 'bad.dpo.json');
    fs.writeFileSync(cfg, JSON.stringify({ model: 'm', data: 'd', output_dir: 'o', reference_free: true }));
    const r = dpo('export-launch', cfg);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /reference_free: the torch engine does not honour it/);
  });
});
