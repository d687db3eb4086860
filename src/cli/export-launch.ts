// `dpo export-launch CONFIG`: a standalone launch of a torch-engine run for a cluster: an accelerate
// config (the preset or file of accelerate_config, with machine count and process count) and a
// Slurm-ready script that starts one `accelerate launch` per node, each with its machine rank and the
// first node as the main process address. Rank 0 writes the run folder, which the metrics panel opens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DpoConfig, resolveConfig } from '../protocol';
import { TORCH_PACKAGE_DIR, torchEnvDir, torchPython } from '../node/torch-env';

export interface ExportOptions {
  configFile: string;
  values: Record<string, unknown>;
  outDir: string;
  nodes: number;
  gpusPerNode: number;
  port: number;
}

const DISTRIBUTED: Record<string, string[]> = {
  ddp: ['distributed_type: MULTI_GPU'],
  deepspeed_zero2: ['distributed_type: DEEPSPEED', 'deepspeed_config:', '  zero_stage: 2', '  offload_optimizer_device: none', '  offload_param_device: none'],
  deepspeed_zero3: ['distributed_type: DEEPSPEED', 'deepspeed_config:', '  zero_stage: 3', '  zero3_init_flag: true', '  zero3_save_16bit_model: true'],
  fsdp: [
    'distributed_type: FSDP',
    'fsdp_config:',
    '  fsdp_version: 2',
    '  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP',
    '  fsdp_state_dict_type: FULL_STATE_DICT',
  ],
};

function accelerateYaml(c: DpoConfig, o: ExportOptions): string {
  const mixed = c.dtype === 'fp32' ? 'no' : c.dtype;
  return [
    '# Written by dpo export-launch. machine_rank and main_process_ip are set per node by launch.sh.',
    'compute_environment: LOCAL_MACHINE',
    ...(DISTRIBUTED[c.accelerate_config ?? 'ddp'] ?? DISTRIBUTED.ddp),
    `mixed_precision: ${mixed}`,
    `num_machines: ${o.nodes}`,
    `num_processes: ${o.nodes * o.gpusPerNode}`,
    'machine_rank: 0',
    `main_process_port: ${o.port}`,
    'rdzv_backend: static',
    'same_network: true',
    'use_cpu: false',
    '',
  ].join('\n');
}

function launchScript(c: DpoConfig, o: ExportOptions, yaml: string, spec: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/usr/bin/env bash
# Written by dpo export-launch: ${c.mode} run of ${c.model} on ${o.nodes} node(s) x ${o.gpusPerNode} GPU(s).
# Slurm: sbatch ${path.basename(o.outDir)}/launch.sh   (the #SBATCH lines below set the shape)
# By hand on each node: NODE_RANK=<0..${o.nodes - 1}> MAIN_ADDR=<first node's address> bash launch.sh
#   machine rank = the node's index (0 is the main process and writes the run folder);
#   main process address = the first node's hostname or IP, port ${o.port} open between the nodes.
#SBATCH --job-name=dpo-${c.mode}
#SBATCH --nodes=${o.nodes}
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=${o.gpusPerNode}
#SBATCH --output=${q(path.join(c.output_dir, 'slurm-%j.out')).slice(1, -1)}
set -euo pipefail
PYTHON=\${DPO_PYTHON:-${q(torchPython(torchEnvDir()))}}
export PYTHONPATH=${q(TORCH_PACKAGE_DIR)}\${PYTHONPATH:+:$PYTHONPATH}
export DPO_SCHEMAS=${q(path.join(TORCH_PACKAGE_DIR, '..', 'schemas'))}
if [ -n "\${SLURM_JOB_NODELIST:-}" ] && [ -z "\${NODE_RANK:-}" ]; then
  MAIN_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
  # one task per node; each computes its rank from SLURM_NODEID
  exec srun --ntasks-per-node=1 bash -c "NODE_RANK=\\$SLURM_NODEID MAIN_ADDR=$MAIN_ADDR bash $(readlink -f "$0")"
fi
: "\${NODE_RANK:=0}" "\${MAIN_ADDR:=127.0.0.1}"
exec "$PYTHON" -m accelerate.commands.launch --config_file ${q(yaml)} \\
  --machine_rank "$NODE_RANK" --main_process_ip "$MAIN_ADDR" --main_process_port ${o.port} \\
  --num_machines ${o.nodes} --num_processes ${o.nodes * o.gpusPerNode} \\
  -m dpo_studio.worker @${q(spec)}
`;
}

export function exportLaunch(o: ExportOptions): { files: string[]; config: DpoConfig } {
  const c = resolveConfig({ ...o.values, engine: 'torch', num_processes: o.nodes * o.gpusPerNode }, o.configFile);
  if (!c.output_dir) throw new Error(`${o.configFile}: output_dir is required for a cluster run (the folder rank 0 writes)`);
  fs.mkdirSync(o.outDir, { recursive: true });
  const yaml = path.join(o.outDir, 'accelerate.yaml');
  const spec = path.join(o.outDir, 'run.json');
  const script = path.join(o.outDir, 'launch.sh');
  if (c.accelerate_config && !(c.accelerate_config in DISTRIBUTED)) {
    if (!fs.existsSync(c.accelerate_config))
      throw new Error(
        `${o.configFile}: accelerate_config: ${c.accelerate_config} not found; give a YAML file (relative to the config) or one of ${Object.keys(DISTRIBUTED).join(', ')}`,
      );
    fs.copyFileSync(c.accelerate_config, yaml);
  } else fs.writeFileSync(yaml, accelerateYaml(c, o));
  fs.writeFileSync(spec, JSON.stringify({ config: c, resume: false }, null, 2) + '\n');
  fs.writeFileSync(script, launchScript(c, o, yaml, spec), { mode: 0o755 });
  return { files: [script, yaml, spec], config: c };
}
