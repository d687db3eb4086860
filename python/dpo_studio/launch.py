"""num_processes > 1 (or an accelerate config): the run goes through `accelerate launch`; rank 0
of the workers writes the run folder and prints protocol events on its stdout, which the engine
relays. A stop reaches every rank: the engine writes <run>/.stop, rank 0 sees it and broadcasts."""

import json
import os
import subprocess
import sys
import threading

PRESETS = {
    "ddp": {"distributed_type": "MULTI_GPU"},
    "deepspeed_zero2": {"distributed_type": "DEEPSPEED", "deepspeed_config": {"zero_stage": 2}},
    "deepspeed_zero3": {"distributed_type": "DEEPSPEED", "deepspeed_config": {"zero_stage": 3, "zero3_init_flag": True}},
    "fsdp": {"distributed_type": "FSDP", "fsdp_config": {"fsdp_version": 2, "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP"}},
}


def launch_args(config: dict, cpu: bool) -> list:
    n = config["num_processes"]
    args = ["--num_processes", str(n), "--num_machines", "1"]
    preset = config["accelerate_config"]
    if preset and preset not in PRESETS:
        return ["--config_file", preset, *args]
    # On CPU too: accelerate's --multi_gpu launcher is torchrun; without CUDA each rank joins a gloo
    # process group (MULTI_CPU). --cpu would select the single-process launcher.
    return [*args, *(["--multi_gpu"] if n > 1 else ["--cpu"] if cpu else [])]


def run_in_processes(config: dict, resume: bool, channel, stop_event) -> dict:
    import torch

    stop_file = os.path.join(config["output_dir"], ".stop")
    if os.path.exists(stop_file):
        os.remove(stop_file)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *launch_args(config, not torch.cuda.is_available()),
           "-m", "dpo_studio.worker", json.dumps({"config": config, "resume": resume})]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"ACCELERATE_USE_CPU": "true"} if not torch.cuda.is_available() else {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)

    def watch_stop():
        stop_event.wait()
        os.makedirs(config["output_dir"], exist_ok=True)
        open(stop_file, "w").close()

    threading.Thread(target=watch_stop, daemon=True).start()
    result = None
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except ValueError:
            sys.stderr.write(line)
            continue
        if msg.get("type") == "worker/result":
            result = msg["params"]
        elif msg.get("kind") == "event":
            channel.write(msg)
        else:
            sys.stderr.write(line)
    code = proc.wait()
    if result is None or code != 0:
        raise RuntimeError(f"the {config['num_processes']}-process run ended with exit code {code}{': ' + result['error'] if result and 'error' in result else ''}; see log.txt; resume with dpo train --resume {config['output_dir']}")
    if "error" in result:
        raise RuntimeError(result["error"])
    return result
