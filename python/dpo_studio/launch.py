"""num_processes > 1 (or an accelerate config): the run goes through `accelerate launch`; rank 0
of the workers writes the run folder and prints protocol events on its stdout, which the engine
relays. A stop reaches every rank: the engine writes <run>/.stop, rank 0 sees it and broadcasts.
Every rank's stderr comes back prefixed with its rank (torchrun's --tee), so a failure names each
rank's error and keeps each rank's last lines in log.txt."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from .run_folder import RunFolder, now_iso
from .worker import ERROR_MARK

PRESETS = {
    "ddp": {"distributed_type": "MULTI_GPU"},
    "deepspeed_zero2": {"distributed_type": "DEEPSPEED", "deepspeed_config": {"zero_stage": 2}},
    "deepspeed_zero3": {"distributed_type": "DEEPSPEED", "deepspeed_config": {"zero_stage": 3, "zero3_init_flag": True}},
    "fsdp": {"distributed_type": "FSDP", "fsdp_config": {"fsdp_version": 2, "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP"}},
}


def launch_args(config: dict, cpu: bool, log_dir: str | None = None) -> list:
    n = config["num_processes"]
    args = ["--num_processes", str(n), "--num_machines", "1"]
    if log_dir and n > 1:  # torchrun tees each rank's stderr to us as "[default<rank>]:line"
        args += ["--tee", "2", "--log_dir", log_dir]
    preset = config["accelerate_config"]
    if preset and preset not in PRESETS:
        return ["--config_file", preset, *args]
    # On CPU too: accelerate's --multi_gpu launcher is torchrun; without CUDA each rank joins a gloo
    # process group (MULTI_CPU). --cpu would select the single-process launcher.
    return [*args, *(["--multi_gpu"] if n > 1 else ["--cpu"] if cpu else [])]


class RankTails:
    """The launcher's stderr, split by rank: each rank's last lines and its marked error."""

    _PREFIX = re.compile(r"^\[default(\d+)\]:(.*)$", re.S)

    def __init__(self, keep: int = 20):
        self.keep = keep
        self.launcher: deque = deque(maxlen=400)  # the launcher's own lines (torchrun's failure summary)
        self.ranks: dict = {}
        self.errors: dict = {}

    def add(self, line: str) -> None:
        m = self._PREFIX.match(line)
        if not m:
            self.launcher.append(line)
            return
        rank, text = int(m.group(1)), m.group(2)
        self.ranks.setdefault(rank, deque(maxlen=self.keep)).append(text.rstrip("\n"))
        if text.startswith(ERROR_MARK):
            try:
                self.errors[rank] = str(json.loads(text[len(ERROR_MARK) :])["error"])
            except (ValueError, KeyError, TypeError):
                self.errors[rank] = text[len(ERROR_MARK) :].strip()

    def summary(self) -> str:
        """Each rank's error, ranks with the same error named together; else torchrun's lost rank."""
        lost = lost_rank("".join(self.launcher))
        by_error: dict = {}
        for rank, error in sorted(self.errors.items()):
            by_error.setdefault(error, []).append(rank)
        errors = [f"rank{'s' if len(r) > 1 else ''} {', '.join(map(str, r))}: {e}" for e, r in by_error.items()]
        if "killed" in lost or not errors:
            return "; ".join([lost, *errors]) if lost else "; ".join(errors)
        return "; ".join(errors)

    def last_lines(self) -> list:
        """log.txt lines: the last lines of every rank that failed or printed anything."""
        out = []
        for rank in sorted(self.ranks):
            lines = [x for x in self.ranks[rank] if x.strip() and not x.startswith(ERROR_MARK)]
            if lines:
                out.append(f"rank {rank} last lines:")
                out.extend(f"  [rank {rank}] {x}" for x in lines)
        return out


def run_in_processes(config: dict, resume: bool, channel: Any, stop_event: threading.Event) -> dict:
    import torch

    stop_file = os.path.join(config["output_dir"], ".stop")
    if os.path.exists(stop_file):
        os.remove(stop_file)
    log_dir = tempfile.mkdtemp(prefix="dpo-ranks-")  # torchrun's per-rank log files; gone after the run
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *launch_args(config, not torch.cuda.is_available(), log_dir),
        "-m",
        "dpo_studio.worker",
        json.dumps({"config": config, "resume": resume}),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"ACCELERATE_USE_CPU": "true"} if not torch.cuda.is_available() else {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    tails = RankTails()
    assert proc.stdout is not None and proc.stderr is not None  # both are PIPE

    def relay_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tails.add(line)
            sys.stderr.write(line)

    relayer = threading.Thread(target=relay_stderr, daemon=True)
    relayer.start()

    def watch_stop() -> None:
        stop_event.wait()
        os.makedirs(config["output_dir"], exist_ok=True)
        open(stop_file, "w").close()

    threading.Thread(target=watch_stop, daemon=True).start()
    result = None
    try:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                sys.stderr.write(line)
                continue
            if not isinstance(msg, dict):
                sys.stderr.write(line)
            elif msg.get("type") == "worker/result":
                result = msg["params"]
            elif msg.get("kind") == "event":
                channel.write(msg)
            else:
                sys.stderr.write(line)
        code = proc.wait()
        relayer.join(timeout=5)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    if result is None or code != 0 or "error" in result:
        detail = tails.summary() or (result or {}).get("error", "")
        hint = f"; resume with dpo train --resume {config['output_dir']}" if RunFolder(config["output_dir"]).checkpoints() else ""
        message = (
            f"the {config['num_processes']}-process run ended with exit code {code}{': ' + detail if detail else ''}; see log.txt{hint}"
        )
        record_failure(config["output_dir"], message, tails.last_lines())
        raise RuntimeError(message)
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


def record_failure(run_dir: str, message: str, rank_lines: Sequence[str] = ()) -> None:
    """A failed status naming the lost rank: rank 0 may have been stopped before it could write one."""
    folder = RunFolder(run_dir)
    last = None
    if os.path.exists(folder.path("metrics.jsonl")):
        with open(folder.path("metrics.jsonl"), encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a torn last line (rank 0 killed mid-append)
                last = rec if isinstance(rec, dict) and rec.get("kind") == "status" else last
    if last is not None:
        folder.append("metrics.jsonl", [{**last, "status": "failed", "time": now_iso(), "message": message}])
    folder.log(f"error: {message}")
    for line in rank_lines:
        folder.log(line)
