"""`dpo train --engine torch --num-processes 2` on CPU: two ranks through accelerate launch (gloo), one
metrics stream written by rank 0, and the same losses as one process with the same global batch."""

import math

from conftest import dpo, read_jsonl, write_pairs


def test_two_processes_equal_one_with_the_same_global_batch(models, tmp_path):
    data = write_pairs(tmp_path / "pairs.jsonl", 8)
    flags = [
        "--model",
        models["gpt2"],
        "--data",
        data,
        "--max-steps",
        3,
        "--eval-fraction",
        0,
        "--learning-rate",
        1e-3,
        "--lr-scheduler-type",
        "constant",
        "--warmup-ratio",
        0,
        "--max-length",
        96,
        "--engine",
        "torch",
    ]
    dpo("train", *flags, "--batch-size", 2, "--out", tmp_path / "one")
    r = dpo("train", *flags, "--batch-size", 1, "--num-processes", 2, "--out", tmp_path / "two")
    assert "done: 3 steps" in r.stderr
    one = [x for x in read_jsonl(tmp_path / "one" / "metrics.jsonl") if x.get("split") == "train"]
    two = [x for x in read_jsonl(tmp_path / "two" / "metrics.jsonl") if x.get("split") == "train"]
    assert [x["step"] for x in two] == [1, 2, 3], "one metrics line per step: rank 0 alone writes"
    for a, b in zip(one, two):
        assert math.isclose(a["loss"], b["loss"], rel_tol=1e-4, abs_tol=1e-6), (a["step"], a["loss"], b["loss"])
        assert math.isclose(a["rewards/margins"], b["rewards/margins"], rel_tol=1e-3, abs_tol=1e-6)
    pairs = read_jsonl(tmp_path / "two" / "pairs.jsonl")
    assert sorted(p["step"] for p in pairs) == [1, 1, 2, 2, 3, 3], "both ranks' pairs, gathered"
    assert (tmp_path / "two" / "final" / "model.safetensors").exists()
