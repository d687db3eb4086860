"""SimPO and ORPO: the two engines agree after one identical step on the tiny GPT-2 and Llama (GQA)
models (same pairs in one batch, constant lr, no warm-up): every logged objective metric and the
per-pair values of pairs.jsonl to 1e-4, and the updated weights to 1e-4, as test_cross_engine.py
checks for DPO."""

import math

import pytest
from conftest import dpo, read_jsonl, write_pairs
from safetensors.torch import load_file

SETTINGS = {"simpo": ["--beta", 2.5, "--simpo-gamma", 0.8, "--cpo-alpha", 0.3], "orpo": ["--beta", 0.35]}
METRICS = {
    "simpo": ["loss", "grad_norm", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected", "nll_loss"],
    "orpo": ["loss", "grad_norm", "rewards/chosen", "rewards/margins", "logps/chosen", "nll_loss", "log_odds_ratio", "log_odds_chosen"],
}


def first_step(run_dir) -> dict:
    return next(
        r for r in read_jsonl(run_dir / "metrics.jsonl") if r.get("kind") == "metrics" and r.get("split") == "train" and r["step"] == 1
    )


@pytest.mark.parametrize("family", ["gpt2", "llama"])
@pytest.mark.parametrize("loss_type", ["simpo", "orpo"])
def test_one_step_agrees(models, tmp_path, family, loss_type):
    data = write_pairs(tmp_path / "pairs.jsonl", 4)
    flags = [
        "--model",
        models[family],
        "--data",
        data,
        "--loss-type",
        loss_type,
        *SETTINGS[loss_type],
        "--max-steps",
        1,
        "--batch-size",
        4,
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
        "--adam-epsilon",
        1e-3,  # see test_cross_engine.py: keeps Adam's first step proportional to the gradient
    ]
    dpo("train", *flags, "--out", tmp_path / "tfjs")
    dpo("train", "--engine", "torch", *flags, "--out", tmp_path / "torch")
    a, b = first_step(tmp_path / "tfjs"), first_step(tmp_path / "torch")
    for k in METRICS[loss_type]:
        assert math.isclose(a[k], b[k], rel_tol=1e-4, abs_tol=1e-6), (family, loss_type, k, a[k], b[k])
    metric_err = max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-6) for k in METRICS[loss_type])
    pa = {(p["line"], p["split"]): p for p in read_jsonl(tmp_path / "tfjs" / "pairs.jsonl")}
    pb = {(p["line"], p["split"]): p for p in read_jsonl(tmp_path / "torch" / "pairs.jsonl")}
    assert set(pa) == set(pb) and len(pa) == 4
    for key, p in pa.items():
        for k in ("chosen_reward", "rejected_reward", "loss"):
            assert math.isclose(p[k], pb[key][k], rel_tol=1e-4, abs_tol=1e-6), (key, k, p[k], pb[key][k])
    # The per-pair losses are shares of the logged loss: their mean is it.
    assert math.isclose(sum(p["loss"] for p in pa.values()) / 4, a["loss"], rel_tol=1e-5)
    start = load_file(f"{models[family]}/model.safetensors")
    wa, wb = load_file(tmp_path / "tfjs" / "final" / "model.safetensors"), load_file(tmp_path / "torch" / "final" / "model.safetensors")
    assert set(wa) == set(wb)
    moved = max((wb[k].float() - start[k].float()).abs().max().item() for k in wb)
    assert moved > 5e-4, "the step changed the weights (lr 1e-3)"
    worst = max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa)
    assert worst < 1e-4, f"weights differ by {worst}"
    print(f"{loss_type}/{family}: metrics max relative difference {metric_err:.1e}, weights max difference {worst:.1e} (moved {moved:.1e})")
