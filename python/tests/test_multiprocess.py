"""`dpo train --engine torch --num-processes N` on CPU (gloo through accelerate launch): a run with
evaluation during and at the end exits 0, and its records equal a 1-process run's with the same
global batch (per-device batch x ranks x accumulation), pairs gathered from every rank."""

import math

import pytest
from conftest import dpo, read_jsonl, write_pairs

# Wall-clock fields.
VARIES = {"elapsed_seconds", "tokens_per_second", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"}
# TRL weights these by tokens within one gathered micro-batch, then averages the micro-batches
# unweighted: a global batch split into more micro-batches (accumulation, or a smaller per-device
# eval batch) weights its tokens differently. Sample means (loss, rewards, logps) do not depend on it.
TOKEN_WEIGHTED = {p + k for p in ("", "eval_") for k in ("logits/chosen", "logits/rejected", "entropy", "mean_token_accuracy")}


def run(tmp_path, models, name, processes, batch, accumulation):
    train = write_pairs(tmp_path / "train.jsonl", 18)
    evals = write_pairs(tmp_path / "eval.jsonl", 6, start=18)
    r = dpo(
        "train",
        "--engine",
        "torch",
        "--model",
        models["gpt2"],
        "--data",
        train,
        "--eval-data",
        evals,
        # 3 steps, eval every 2: at 0 and 2 from the trainer, at 3 from the run's end-of-training eval.
        "--max-steps",
        3,
        "--eval-steps",
        2,
        "--save-steps",
        100,
        "--learning-rate",
        1e-3,
        "--lr-scheduler-type",
        "constant",
        "--warmup-ratio",
        0,
        "--max-length",
        64,  # every prompt fits: TRL drops a pair whose prompt fills max_length
        "--batch-size",
        batch,
        "--gradient-accumulation-steps",
        accumulation,
        "--num-processes",
        processes,
        "--out",
        tmp_path / name,
    )
    assert r.returncode == 0
    assert "done: 3 step(s)" in (tmp_path / name / "log.txt").read_text()
    metrics = [m for m in read_jsonl(tmp_path / name / "metrics.jsonl") if m["kind"] == "metrics"]
    pairs = sorted(read_jsonl(tmp_path / name / "pairs.jsonl"), key=lambda p: (p["step"], p["split"], p["line"]))
    return metrics, pairs


def assert_same_records(one, many, skip=frozenset()):
    (m1, p1), (mn, pn) = one, many
    assert [(m["split"], m["step"]) for m in mn] == [("eval", 0), ("train", 1), ("train", 2), ("eval", 2), ("train", 3), ("eval", 3)]
    assert [(m["split"], m["step"]) for m in m1] == [(m["split"], m["step"]) for m in mn]
    for a, b in zip(m1, mn, strict=True):
        assert set(a) - VARIES == set(b) - VARIES, (a["step"], set(a) ^ set(b))
        keys = set(a) - VARIES - skip
        for k in keys:
            if isinstance(a[k], str):
                assert a[k] == b[k], (a["split"], a["step"], k)
            else:
                assert math.isclose(a[k], b[k], rel_tol=2e-4, abs_tol=2e-6), (a["split"], a["step"], k, a[k], b[k])
    assert [(p["step"], p["split"], p["line"]) for p in p1] == [(p["step"], p["split"], p["line"]) for p in pn]
    assert len(p1) == 3 * 6 + 3 * 6, "every pair of every step and every evaluation, once"
    for a, b in zip(p1, pn, strict=True):
        for k in ("chosen_reward", "rejected_reward", "loss"):
            assert math.isclose(a[k], b[k], rel_tol=1e-3, abs_tol=1e-6), (a, b)


@pytest.fixture(scope="module")
def one_process(models, tmp_path_factory):
    return run(tmp_path_factory.mktemp("one"), models, "one", 1, 6, 1)


def test_two_processes_with_eval_finish_and_equal_one(models, tmp_path, one_process):
    assert_same_records(one_process, run(tmp_path, models, "two", 2, 3, 1))


def test_three_processes_with_accumulation_finish_and_equal_one(models, tmp_path, one_process):
    assert_same_records(one_process, run(tmp_path, models, "three", 3, 1, 2), skip=TOKEN_WEIGHTED)
