"""num_processes > 1 (or an accelerate config): the run goes through `accelerate launch`; rank 0
of the workers writes the run folder and prints protocol events on its stdout, which the engine
relays. A stop reaches every rank: the engine writes <run>/.stop, rank 0 sees it and broadcasts."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import deque

from .run_folder import RunFolder, now_iso

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
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *launch_args(config, not torch.cuda.is_available()),
        "-m",
        "dpo_studio.worker",
        json.dumps({"config": config, "resume": resume}),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"ACCELERATE_USE_CPU": "true"} if not torch.cuda.is_available() else {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    tail = deque(maxlen=400)  # the launcher's own stderr, passed through and kept for its failure summary

    def relay_stderr():
        for line in proc.stderr:
            tail.append(line)
            sys.stderr.write(line)

    relayer = threading.Thread(target=relay_stderr, daemon=True)
    relayer.start()

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
    relayer.join(timeout=5)
    if result is None or code != 0:
        lost = lost_rank("".join(tail))
        detail = lost or (result or {}).get("error", "")
        message = f"the {config['num_processes']}-process run ended with exit code {code}{': ' + detail if detail else ''}; see log.txt; resume with dpo train --resume {config['output_dir']}"
        record_failure(config["output_dir"], message)
        raise RuntimeError(message)
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


_FAILURE = re.compile(r"^\s*rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", re.S | re.M)


def lost_rank(launcher_stderr: str) -> str:
    """The rank that ended the run, from torchrun's failure summary: one killed by SIGKILL (the others
    then abort or are sent SIGTERM on the broken process group), else the root cause, else the first."""
    root_at = launcher_stderr.rfind("Root Cause")
    failures = [(int(m.group(1)), int(m.group(2)), m.start() > root_at >= 0) for m in _FAILURE.finditer(launcher_stderr)]
    if not failures:
        return ""
    rank, code, _ = next((f for f in failures if f[1] == -signal.SIGKILL), next((f for f in failures if f[2]), failures[0]))
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"rank {rank} was killed by {name}; the other ranks stopped with it"
    return f"rank {rank} failed with exit code {code}"


def record_failure(run_dir: str, message: str) -> None:
    """A failed status naming the lost rank: rank 0 may have been stopped before it could write one."""
    folder = RunFolder(run_dir)
    last = None
    if os.path.exists(folder.path("metrics.jsonl")):
        with open(folder.path("metrics.jsonl"), encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line) if line.strip() else {}
                last = rec if rec.get("kind") == "status" else last
    if last is not None:
        folder.append("metrics.jsonl", [{**last, "status": "failed", "time": now_iso(), "message": message}])
    folder.log(f"error: {message}")
