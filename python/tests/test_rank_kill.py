"""#12: kill -9 of one rank of a 2-process CPU run (`dpo train --engine torch --num-processes 2`) ends
the run with a clear error (no hang) naming the lost rank and how to resume, and the run resumes to
the end from its last complete checkpoint."""

import os
import signal
import subprocess
import time

from conftest import DPO, read_jsonl, write_pairs


def rank_pids(out_dir: str) -> dict:
    """{rank: pid} of the dpo_studio.worker processes of this run (the rank from each one's environment)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            if "dpo_studio.worker" not in cmd or out_dir not in cmd:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0") if "=" in kv)
        except OSError:
            continue
        if "RANK" in env:
            found[int(env["RANK"])] = int(pid)
    return found


def test_kill_9_of_one_rank_fails_clearly_and_resumes(models, tmp_path):
    import sys

    data = write_pairs(tmp_path / "pairs.jsonl", 8)
    run = tmp_path / "two"
    env = {**os.environ, "DPO_TORCH_ENV": os.path.dirname(os.path.dirname(sys.executable))}
    args = [
        *DPO,
        "train",
        "--model",
        models["gpt2"],
        "--data",
        data,
        "--max-steps",
        "6",
        "--save-steps",
        "1",
        "--eval-fraction",
        "0",
        "--learning-rate",
        "1e-3",
        "--lr-scheduler-type",
        "constant",
        "--warmup-ratio",
        "0",
        "--max-length",
        "64",
        "--engine",
        "torch",
        "--batch-size",
        "1",
        "--num-processes",
        "2",
        "--out",
        str(run),
    ]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 180
    while not (run / "checkpoints" / "step-2" / "trainer_state.json").exists():
        assert p.poll() is None and time.time() < deadline, "the run ended or stalled before checkpoint 2"
        time.sleep(0.05)
    ranks = rank_pids(str(run))
    assert set(ranks) == {0, 1}, ranks
    os.kill(ranks[1], signal.SIGKILL)
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("the run hung after rank 1 was killed") from None
    assert p.returncode != 0
    assert "rank 1" in err and "SIGKILL" in err, err[-3000:]
    assert f"dpo train --resume {run}" in err, err[-3000:]
    assert not rank_pids(str(run)), "a rank outlived the run"
    status = [x for x in read_jsonl(run / "metrics.jsonl") if x["kind"] == "status"]
    assert status[-1]["status"] == "failed" and "rank 1" in status[-1]["message"], status[-1]
    for d in os.listdir(run / "checkpoints"):
        assert (run / "checkpoints" / d / "trainer_state.json").exists(), f"{d} is incomplete"
    r = subprocess.run([*DPO, "train", "--resume", str(run)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "done: 6 steps" in r.stderr, r.stderr[-3000:]
    steps = [x["step"] for x in read_jsonl(run / "metrics.jsonl") if x.get("split") == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert read_jsonl(run / "metrics.jsonl")[-1]["status"] == "completed"


SUMMARY = """dpo_studio.worker FAILED
------------------------------------------------------
Failures:
[1]:
  time      : 2026-11-26_14:30:10
  rank      : 0 (local_rank: 0)
  exitcode  : -6 (pid: 14944)  (SIGABRT)
  traceback : Signal 6 (SIGABRT) received by PID 14944
------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-11-26_14:30:10
  rank      : 1 (local_rank: 1)
  exitcode  : {code} (pid: 14945)
======================================================
"""


def test_the_lost_rank_is_read_from_torchruns_failure_summary():
    from dpo_studio.launch import lost_rank

    # rank 0 aborting on the broken process group is listed first; the killed rank is the one named
    assert lost_rank(SUMMARY.replace("{code}", "-9")) == "rank 1 was killed by SIGKILL; the other ranks stopped with it"
    assert lost_rank(SUMMARY.replace("{code}", "1")) == "rank 1 failed with exit code 1"
    assert lost_rank("no summary") == ""
