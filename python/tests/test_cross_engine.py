"""The two engines agree on the project's tiny GPT-2 and Llama (GQA) models: `dpo logps` per pair to
1e-4 relative, and one identical DPO step (same pairs in one batch, constant lr, no warm-up, no
dropout) gives the same loss and the same weights to 1e-4."""

import math

import pytest
from conftest import dpo, read_jsonl, write_pairs
from safetensors.torch import load_file


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_logps_agree(models, tmp_path, family):
    data = write_pairs(tmp_path / "pairs.jsonl", 12)
    dpo("logps", "--model", models[family], "--data", data, "--out", tmp_path / "tfjs.jsonl")
    dpo("logps", "--engine", "torch", "--model", models[family], "--data", data, "--out", tmp_path / "torch.jsonl")
    a, b = read_jsonl(tmp_path / "tfjs.jsonl"), read_jsonl(tmp_path / "torch.jsonl")
    assert len(a) == len(b) == 12
    for x, y in zip(a, b, strict=True):
        assert (x["line"], x["chosen_tokens"], x["rejected_tokens"]) == (y["line"], y["chosen_tokens"], y["rejected_tokens"])
        for k in ("chosen_logp", "rejected_logp"):
            assert math.isclose(x[k], y[k], rel_tol=1e-4), (family, x["line"], k, x[k], y[k])


@pytest.mark.parametrize(
    "family,loss",
    [
        ("gpt2", []),
        ("llama", []),
        # Loss lists: RPO on Llama, MPO (weighted, with bco_pair) on GPT-2.
        ("llama", ["--loss-type", "sigmoid,sft", "--loss-weights", "1,0.5"]),
        ("gpt2", ["--loss-type", "sigmoid,bco_pair,sft", "--loss-weights", "0.8,0.2,1"]),
    ],
)
def test_one_dpo_step_agrees(models, tmp_path, family, loss):
    data = write_pairs(tmp_path / "pairs.jsonl", 4)
    flags = [
        *loss,
        "--model",
        models[family],
        "--data",
        data,
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
        # Adam's first step is lr·g/(|g|+ε): with ε = 1e-8 it is ±lr for any gradient above ~1e-7, so a
        # weight whose gradient is at float32 noise level can land anywhere in [-lr, lr] (seen once in
        # 2048 Llama v_proj weights). A larger ε keeps the update proportional to the gradient, so the
        # comparison tests the engines, not the rounding of near-zero gradients.
        "--adam-epsilon",
        1e-3,
    ]
    dpo("train", *flags, "--out", tmp_path / "tfjs")
    dpo("train", "--engine", "torch", *flags, "--out", tmp_path / "torch")
    m = {}
    for e in ("tfjs", "torch"):
        recs = read_jsonl(tmp_path / e / "metrics.jsonl")
        m[e] = next(r for r in recs if r.get("kind", "metrics") == "metrics" and "loss" in r and r["step"] == 1)
    assert math.isclose(m["tfjs"]["loss"], m["torch"]["loss"], rel_tol=1e-4)
    assert math.isclose(m["tfjs"]["grad_norm"], m["torch"]["grad_norm"], rel_tol=1e-4)
    # pairs.jsonl: the same per-pair losses (a list's "sft" part is its batch's NLL on every pair).
    pairs = {e: {r["line"]: r["loss"] for r in read_jsonl(tmp_path / e / "pairs.jsonl") if r["step"] == 1} for e in ("tfjs", "torch")}
    assert pairs["tfjs"].keys() == pairs["torch"].keys() and len(pairs["tfjs"]) == 4
    for line, x in pairs["tfjs"].items():
        assert math.isclose(x, pairs["torch"][line], rel_tol=1e-4, abs_tol=1e-6), (line, x, pairs["torch"][line])
    start = load_file(f"{models[family]}/model.safetensors")
    a, b = load_file(tmp_path / "tfjs" / "final" / "model.safetensors"), load_file(tmp_path / "torch" / "final" / "model.safetensors")
    assert set(a) == set(b)
    moved = max((b[k].float() - start[k].float()).abs().max().item() for k in b)
    assert moved > 5e-4, "the step changed the weights (lr 1e-3)"
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst < 1e-4, f"weights differ by {worst}"


def test_reward_agrees_and_probe_runs_on_torch(models, tmp_path):
    other = tmp_path / "other"
    dpo("make-tiny-model", "--out", other, "--max-positions", 128, "--seed", 1)
    data = write_pairs(tmp_path / "pairs.jsonl", 6)
    for engine in ("tfjs", "torch"):
        dpo("reward", "--engine", engine, "--model", models["gpt2"], "--ref", other, "--data", data, "--out", tmp_path / f"{engine}.jsonl")
    a, b = read_jsonl(tmp_path / "tfjs.jsonl"), read_jsonl(tmp_path / "torch.jsonl")
    assert [x["line"] for x in a] == [x["line"] for x in b] == list(range(1, 7))
    for x, y in zip(a, b, strict=True):
        assert abs(x["margin"] - y["margin"]) < 1e-4 * max(1.0, abs(x["margin"])) and abs(x["margin"]) > 1e-3
    r = dpo("probe", "--engine", "torch", "--model", models["gpt2"], "--ref", other, "--prompt", "Q: sky?", "--max-new-tokens", 4)
    assert r.stdout.startswith("policy: ") and "reference: " in r.stdout and "σ(margin) = " in r.stdout
    assert "[length, 4 tokens]" in r.stdout


@pytest.mark.parametrize("scheduler", ["linear", "cosine", "constant"])
def test_learning_rate_schedule_agrees(models, tmp_path, scheduler):
    """Both engines apply and log transformers' schedule: warm-up step/W (the first update at 0), then
    the decay, at every step; a warm-up from the default warmup_ratio would otherwise differ."""
    data = write_pairs(tmp_path / "pairs.jsonl", 8)
    flags = ["--model", models["gpt2"], "--data", data, "--max-steps", 7, "--batch-size", 1, "--eval-fraction", 0]
    flags += ["--learning-rate", 1e-3, "--lr-scheduler-type", scheduler, "--warmup-steps", 3, "--max-length", 64]
    dpo("train", *flags, "--out", tmp_path / "tfjs")
    dpo("train", "--engine", "torch", *flags, "--out", tmp_path / "torch")
    lr = {}
    for e in ("tfjs", "torch"):
        recs = read_jsonl(tmp_path / e / "metrics.jsonl")
        lr[e] = [r["learning_rate"] for r in recs if r.get("kind", "metrics") == "metrics" and "learning_rate" in r]
    assert len(lr["tfjs"]) == len(lr["torch"]) == 7
    assert lr["torch"][:4] == pytest.approx([0, 1e-3 / 3, 2e-3 / 3, 1e-3], rel=1e-6)
    assert lr["tfjs"] == pytest.approx(lr["torch"], rel=1e-6, abs=1e-12)
