"""SimPO and ORPO with `--num-processes 2` on CPU (gloo): the run with evaluation finishes, every pair
is recorded once per step and evaluation, and before the first update (the step-0 evaluation, step
1's training batch) the sample-mean metrics (rewards, log-probs, ORPO's log odds) and per-pair rewards
equal a 1-process run with the same global batch. The NLL term is a token mean per rank's micro-batch
in TRL, so splitting a batch across ranks weights its tokens differently: loss and the update differ
(as for DPO's token-weighted metrics, test_multiprocess.py), so later values are not compared."""

import math

import pytest
from conftest import dpo, read_jsonl, write_pairs

SAMPLE_MEANS = {
    "simpo": ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"],
    "orpo": ["rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected", "log_odds_chosen"],
}
SETTINGS = {"simpo": ["--beta", 2.5, "--cpo-alpha", 0.3], "orpo": ["--beta", 0.35]}


def run(tmp_path, models, loss_type, processes, batch):
    train = write_pairs(tmp_path / "train.jsonl", 8)
    evals = write_pairs(tmp_path / "eval.jsonl", 4, start=8)
    out = tmp_path / f"{loss_type}-{processes}"
    dpo(
        "train",
        "--engine",
        "torch",
        "--model",
        models["gpt2"],
        "--data",
        train,
        "--eval-data",
        evals,
        "--loss-type",
        loss_type,
        *SETTINGS[loss_type],
        "--max-steps",
        2,
        "--eval-steps",
        1,
        "--learning-rate",
        1e-3,
        "--lr-scheduler-type",
        "constant",
        "--warmup-ratio",
        0,
        "--batch-size",
        batch,
        "--num-processes",
        processes,
        "--out",
        out,
    )
    assert "done: 2 step(s)" in (out / "log.txt").read_text()
    metrics = [m for m in read_jsonl(out / "metrics.jsonl") if m["kind"] == "metrics"]
    pairs = sorted(read_jsonl(out / "pairs.jsonl"), key=lambda p: (p["step"], p["split"], p["line"]))
    return metrics, pairs


@pytest.mark.parametrize("loss_type", ["simpo", "orpo"])
def test_two_processes_equal_one(models, tmp_path, loss_type):
    (m1, p1), (m2, p2) = run(tmp_path, models, loss_type, 1, 4), run(tmp_path, models, loss_type, 2, 2)
    assert [(m["split"], m["step"]) for m in m1] == [(m["split"], m["step"]) for m in m2]
    before_update = lambda r: (r["split"], r["step"]) in (("eval", 0), ("train", 1))  # noqa: E731
    for a, b in zip(m1, m2, strict=True):
        if not before_update(a):
            continue
        prefix = "eval_" if a["split"] == "eval" else ""
        for k in SAMPLE_MEANS[loss_type]:
            assert math.isclose(a[prefix + k], b[prefix + k], rel_tol=2e-4, abs_tol=2e-6), (a["split"], a["step"], k)
    assert [(p["step"], p["split"], p["line"]) for p in p1] == [(p["step"], p["split"], p["line"]) for p in p2]
    assert len(p1) == 2 * 4 + 3 * 4, "every pair of every step and every evaluation, once"
    for a, b in zip(p1, p2, strict=True):
        if not before_update(a):
            continue
        for k in ("chosen_reward", "rejected_reward"):
            assert math.isclose(a[k], b[k], rel_tol=1e-3, abs_tol=1e-6), (a, b)
