"""launch.RankTails: torchrun's per-rank stderr ("[default<rank>]:line") becomes each rank's error
(from worker.py's marked line) and last lines; the message names every failed rank, ranks with the
same error together, and a rank killed by a signal first."""

from dpo_studio.launch import RankTails
from dpo_studio.worker import rank_error_line

SUMMARY_KILLED = """[E] failed
Root Cause (first observed failure):
[0]:
  time      : 2026-12-03_15:09:25
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 9128)
"""


def feed(tails, rank, text):
    for line in text.splitlines():
        tails.add(f"[default{rank}]:{line}\n")


def test_each_rank_error_and_last_lines():
    t = RankTails(keep=3)
    feed(t, 0, "loading\nstep 1\nstep 2\nstep 3")
    feed(t, 1, "Traceback (most recent call last):\nValueError: bad shard")
    t.add(rank_error_line(1, ValueError("bad shard")) + "\n")  # unprefixed: the launcher's own line, not a rank's
    feed(t, 1, rank_error_line(1, ValueError("bad shard")))
    assert t.errors == {1: "ValueError: bad shard"}
    assert t.summary() == "rank 1: ValueError: bad shard"
    lines = t.last_lines()
    assert lines[0] == "rank 0 last lines:" and lines[1:4] == ["  [rank 0] step 1", "  [rank 0] step 2", "  [rank 0] step 3"]
    assert "rank 1 last lines:" in lines and "  [rank 1] ValueError: bad shard" in lines
    assert not any("dpo-worker-error" in line for line in lines)


def test_ranks_with_the_same_error_are_named_together():
    t = RankTails()
    for rank in (0, 1, 2):
        feed(t, rank, rank_error_line(rank, RuntimeError("no data")))
    assert t.summary() == "ranks 0, 1, 2: RuntimeError: no data"


def test_a_killed_rank_comes_first():
    t = RankTails()
    feed(t, 0, rank_error_line(0, RuntimeError("Connection closed by peer")))
    for line in SUMMARY_KILLED.splitlines(keepends=True):
        t.add(line)
    assert t.summary() == "rank 1 was killed by SIGKILL; the other ranks stopped with it; rank 0: RuntimeError: Connection closed by peer"
