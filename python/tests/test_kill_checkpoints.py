"""#12: kill -9 of the torch engine at 10 moments in and around checkpoint writes (save_steps 1): after
each kill every checkpoints/step-N is complete and loadable, the run resumes, and the finished run's
train metrics equal an uninterrupted run's (rel 1e-4)."""

import json
import math
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, read_jsonl, write_pairs

from dpo_studio.schemas import resolve_config
from dpo_studio.train import Run

# Seconds after the trigger below; 0 lands inside HF's write of checkpoint-N in .hf-staging, the
# longer ones in the rename into checkpoints/, the pruning of old ones, or the next step.
DELAYS = [0, 0.001, 0.003, 0.006, 0.01, 0.02, 0.035, 0.05, 0.08, 0.15]
MAX_STEPS = 24


def config(models, tmp_path, name):
    data = write_pairs(tmp_path / "pairs.jsonl", 16)
    return resolve_config(
        {
            "engine": "torch",
            "model": models["gpt2"],
            "data": data,
            "output_dir": str(tmp_path / name),
            "max_steps": MAX_STEPS,
            "batch_size": 2,
            "eval_fraction": 0,
            "save_steps": 1,
            "save_total_limit": 2,
            "learning_rate": 1e-3,
            "lr_scheduler_type": "constant",
            "warmup_ratio": 0,
            "max_length": 64,
        }
    )


def complete_steps(run) -> list:
    d = run / "checkpoints"
    return sorted(int(n.split("-")[1]) for n in os.listdir(d)) if d.exists() else []


def check_checkpoints(run, kill: int) -> int:
    """Every step-N is complete (trainer_state.json naming step N) and its weights load; returns the newest step."""
    from transformers import AutoModelForCausalLM

    steps = complete_steps(run)
    assert steps, f"kill {kill}: no checkpoint left"
    for s in steps:
        d = run / "checkpoints" / f"step-{s}"
        state = d / "trainer_state.json"
        assert state.exists(), f"kill {kill}: {d} is incomplete (no trainer_state.json)"
        assert json.loads(state.read_text())["global_step"] == s, f"kill {kill}: {d} holds another step's state"
        assert (d / "optimizer.pt").exists() and (d / "rng_state.pth").exists(), f"kill {kill}: {d} lacks optimizer or rng state"
        AutoModelForCausalLM.from_pretrained(d)
    return steps[-1]


def start_engine(c, env, resume):
    p = subprocess.Popen(
        [sys.executable, "-m", "dpo_studio.engine"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    req = (
        {"type": "run/resume", "params": {"runDir": c["output_dir"]}}
        if resume
        else {"type": "run/start", "params": {"mode": "dpo", "config": c}}
    )
    p.stdin.write(json.dumps({"kind": "request", "id": 1, **req}) + "\n")
    p.stdin.flush()
    return p


def kill_during_checkpoint(p, run, after_step: int, delay: float, kill: int) -> None:
    """SIGKILL once HF starts writing a checkpoint past after_step+1 (so each life completes one checkpoint)."""
    staging = run / ".hf-staging"
    deadline = time.time() + 120
    while time.time() < deadline:
        names = os.listdir(staging) if staging.exists() else []
        if any(n.startswith("checkpoint-") and int(n.split("-")[1]) >= after_step + 2 for n in names):
            break
        assert p.poll() is None, f"kill {kill}: the engine ended ({p.returncode}) before checkpoint {after_step + 2}"
        time.sleep(0.0005)
    else:
        raise AssertionError(f"kill {kill}: no checkpoint {after_step + 2} within 120 s")
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdin.close()


def test_ten_kills_during_checkpoint_writes_then_resume_matches(models, tmp_path):
    whole = Run(config(models, tmp_path, "whole"), None).run()
    assert whole["reason"] == "completed" and whole["step"] == MAX_STEPS
    c = config(models, tmp_path, "killed")
    run = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")}
    newest = 0
    for kill, delay in enumerate(DELAYS):
        p = start_engine(c, env, resume=kill > 0)
        kill_during_checkpoint(p, run, newest, delay, kill)
        step = check_checkpoints(run, kill)
        assert step > newest, f"kill {kill}: no progress past step {newest}"
        newest = step
    assert newest < MAX_STEPS, "the ten kills all landed before the end"
    p = start_engine(c, env, resume=True)
    deadline = time.time() + 180
    recs = []
    while time.time() < deadline and p.poll() is None:  # stdin stays open: closing it would stop the run
        recs = read_jsonl(run / "metrics.jsonl")
        if recs[-1]["kind"] == "status" and recs[-1]["status"] in ("completed", "failed"):
            break
        time.sleep(0.2)
    p.stdin.close()
    p.wait(timeout=60)
    recs = read_jsonl(run / "metrics.jsonl")
    a = [x for x in read_jsonl(tmp_path / "whole" / "metrics.jsonl") if x["kind"] == "metrics" and x["split"] == "train"]
    b = [x for x in recs if x["kind"] == "metrics" and x["split"] == "train"]
    assert [x["step"] for x in b] == list(range(1, MAX_STEPS + 1)), "records after a kill's checkpoint were dropped and logged again, once"
    for x, y in zip(a, b, strict=True):
        assert math.isclose(x["loss"], y["loss"], rel_tol=1e-4), (x["step"], x["loss"], y["loss"])
        assert math.isclose(x["rewards/margins"], y["rewards/margins"], rel_tol=1e-4, abs_tol=1e-6), (
            x["step"],
            x["rewards/margins"],
            y["rewards/margins"],
        )
    check_checkpoints(run, "end")
