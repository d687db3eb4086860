"""Mode "kto" on the torch engine: the unpaired reader (file/line/field problems, TRL's unpairing of a
paired file in the embedded engine's order), DPO's refusal of unpaired lines, the KTOConfig mapping,
the per-example records of pairs.jsonl and the capture check that guards them; and the two engines
agreeing after one identical KTO step."""

import json
import math

import pytest
import torch
from conftest import dpo, read_jsonl, write_pairs
from safetensors.torch import load_file

from dpo_studio import trl_map
from dpo_studio.data import DataError, read_pairs
from dpo_studio.kto import check_capture, example_rows
from dpo_studio.pairs import PairCaptureError
from dpo_studio.schemas import resolve_config
from dpo_studio.unpaired import read_unpaired


def write(path, rows) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_unpaired_lines_read_with_their_line_and_problems_named(tmp_path):
    f = write(
        tmp_path / "u.jsonl",
        [
            {"prompt": "Q", "completion": " A", "label": True},
            "",
            {"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "yo"}], "label": False},
            {"prompt": "Q", "completion": "  ", "label": False},
            {"prompt": "Q", "completion": "A", "label": "yes"},
        ],
    )
    with pytest.raises(DataError, match=r"u\.jsonl:4: field 'completion': empty response"):
        read_unpaired(f, skip_bad_lines=False)
    rows, problems, excluded, from_pairs = read_unpaired(f, skip_bad_lines=True)
    assert [(r["line"], r["label"]) for r in rows] == [(1, True), (3, False)] and not from_pairs
    assert problems[1] == f"{f}:5: field 'label': must be true (desirable) or false (undesirable), got \"yes\""


def test_a_paired_file_is_unpaired_as_trl_does_in_the_embedded_engines_order(tmp_path):
    f = write(tmp_path / "p.jsonl", [{"prompt": f"p{i}", "chosen": f"c{i}", "rejected": f"r{i}"} for i in range(3)])
    rows, _, _, from_pairs = read_unpaired(f, skip_bad_lines=False)
    assert from_pairs
    # src/protocol/unpaired-line.ts unpairPairs: the chosen lines, then the rejected ones (per 1,000 pairs).
    assert [(r["line"], r["completion"], r["label"]) for r in rows] == [
        (1, "c0", True),
        (2, "c1", True),
        (3, "c2", True),
        (1, "r0", False),
        (2, "r1", False),
        (3, "r2", False),
    ]
    skipped = write(
        tmp_path / "s.jsonl", [{"prompt": "a", "completion": "x", "label": True}, {"prompt": "a", "completion": "y", "label": "skip"}]
    )
    assert read_unpaired(skipped, skip_bad_lines=False)[2] == 1, "a skipped line is left out, as the embedded engine does"
    mixed = write(
        tmp_path / "m.jsonl", [{"prompt": "a", "chosen": "x", "rejected": "y"}, {"prompt": "a", "completion": "x", "label": True}]
    )
    with pytest.raises(DataError, match="mixes unpaired lines and pairs"):
        read_unpaired(mixed, skip_bad_lines=False)


def test_dpo_refuses_an_unpaired_line_naming_dpo_convert(tmp_path):
    f = write(tmp_path / "u.jsonl", [{"prompt": "a", "chosen": "x", "rejected": "y"}, {"prompt": "a", "completion": "x", "label": True}])
    with pytest.raises(DataError, match=r"u\.jsonl:2: field 'label': an unpaired line .*dpo convert --to paired"):
        read_pairs(f, skip_bad_lines=False, completions=False)


def test_kto_config_maps_to_ktoconfig(tmp_path):
    from trl import KTOConfig

    c = resolve_config({"engine": "torch", "mode": "kto", "model": "/m", "data": "/d", "desirable_weight": 1.3, "undesirable_weight": 0.6})
    args = KTOConfig(**trl_map.kto_args(c, str(tmp_path), 64, has_eval=False))
    assert (args.loss_type, args.beta, args.desirable_weight, args.undesirable_weight) == ("kto", 0.1, 1.3, 0.6)
    assert args.per_device_train_batch_size == c["batch_size"] and args.train_sampling_strategy == "sequential"
    with pytest.raises(ValueError, match="^batch_size: "):
        trl_map.kto_args({**c, "batch_size": 1}, str(tmp_path), 64, has_eval=False)


def test_example_rows_put_the_reward_on_the_labels_side():
    rewards = torch.tensor([0.3, -0.2])
    rows = example_rows([4, 9], [True, False], rewards, kl=0.5, beta=0.1, weights=(2.0, 0.5))
    assert [(r["line"], r["label"]) for r in rows] == [(4, True), (9, False)]
    assert math.isclose(rows[0]["chosen_reward"], 0.3, rel_tol=1e-6) and math.isclose(rows[0]["rejected_reward"], 0.05)
    assert math.isclose(rows[1]["chosen_reward"], 0.05) and math.isclose(rows[1]["rejected_reward"], -0.2, rel_tol=1e-6)
    # λ(1 − σ(β(r − z))) and λ(1 − σ(β(z − r))): the KTO losses of the two lines
    assert math.isclose(rows[0]["loss"], 2.0 * (1 - 1 / (1 + math.exp(-(0.3 - 0.05)))), rel_tol=1e-6)
    assert math.isclose(rows[1]["loss"], 0.5 * (1 - 1 / (1 + math.exp(-(0.05 + 0.2)))), rel_tol=1e-6)


def test_capture_check_fails_loudly_when_the_values_are_not_trls():
    rewards, labels = torch.tensor([0.3, -0.2, 0.1]), torch.tensor([True, False, True])
    check_capture({"rewards/chosen": [0.2], "rewards/rejected": [-0.2]}, rewards, labels)
    with pytest.raises(PairCaptureError, match="rewards/rejected"):
        check_capture({"rewards/chosen": [0.2], "rewards/rejected": [0.7]}, rewards, labels)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_one_kto_step_agrees_across_engines(models, tmp_path, family):
    other = tmp_path / "reference"
    dpo("make-tiny-model", "--out", other, "--max-positions", 128, "--seed", 1, *(["--family", "llama"] if family == "llama" else []))
    data = write_pairs(tmp_path / "pairs.jsonl", 4)  # a paired file: 8 lines, one batch
    flags = ["--model", models[family], "--reference-model", other, "--data", data, "--max-steps", 1, "--batch-size", 8]
    flags += ["--eval-fraction", 0, "--learning-rate", 1e-3, "--lr-scheduler-type", "constant", "--warmup-ratio", 0, "--max-length", 96]
    # As test_cross_engine: a larger Adam ε keeps the first update proportional to the gradient.
    flags += ["--adam-epsilon", 1e-3, "--desirable-weight", 1.4, "--undesirable-weight", 0.8]
    dpo("kto", *flags, "--out", tmp_path / "tfjs")
    dpo("kto", "--engine", "torch", *flags, "--out", tmp_path / "torch")
    m, p = {}, {}
    for e in ("tfjs", "torch"):
        m[e] = next(r for r in read_jsonl(tmp_path / e / "metrics.jsonl") if r.get("kind") == "metrics" and r.get("step") == 1)
        p[e] = {(r["line"], r["label"]): r for r in read_jsonl(tmp_path / e / "pairs.jsonl") if r["step"] == 1}
    # Rewards are β times a difference of log-probs near -100: float32 leaves ~1e-5 of them absolute.
    for k in ("loss", "grad_norm", "kl", "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"):
        assert math.isclose(m["tfjs"][k], m["torch"][k], rel_tol=1e-4, abs_tol=1e-5), (k, m["tfjs"][k], m["torch"][k])
    assert abs(m["torch"]["rewards/margins"]) > 1e-3, "policy and reference differ"
    assert set(p["tfjs"]) == set(p["torch"]) and len(p["tfjs"]) == 8
    for key, a in p["tfjs"].items():
        for k in ("chosen_reward", "rejected_reward", "margin", "loss"):
            assert abs(a[k] - p["torch"][key][k]) <= 1e-4 * max(1.0, abs(a[k])), (key, k, a[k], p["torch"][key][k])
    start = load_file(f"{models[family]}/model.safetensors")
    a, b = load_file(tmp_path / "tfjs" / "final" / "model.safetensors"), load_file(tmp_path / "torch" / "final" / "model.safetensors")
    assert set(a) == set(b)
    assert max((b[k].float() - start[k].float()).abs().max().item() for k in b) > 5e-4, "the step changed the weights (lr 1e-3)"
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst < 1e-4, f"weights differ by {worst}"
    loss_err = abs(m["tfjs"]["loss"] - m["torch"]["loss"]) / abs(m["torch"]["loss"])
    print(f"kto {family}: loss rel diff {loss_err:.1e}, largest weight diff {worst:.1e} after one step")


@pytest.mark.parametrize("extra", [["--precompute-ref-log-probs", "true"], ["--lora-r", 4]], ids=["precomputed-reference", "lora"])
def test_kto_capture_holds_with_a_precomputed_reference_and_with_lora(models, tmp_path, extra):
    """The per-example capture reads TRL's log-softmax passes: 2 with precomputed reference log-probs, 4
    with the reference as the LoRA base (adapters off); both give every line's record, checked against
    TRL's logged means inside the run (a mismatch would fail it)."""
    data = write_pairs(tmp_path / "pairs.jsonl", 3)
    out = tmp_path / "run"
    dpo(
        "kto",
        "--engine",
        "torch",
        "--model",
        models["gpt2"],
        "--data",
        data,
        "--out",
        out,
        "--max-steps",
        1,
        "--batch-size",
        6,
        "--eval-fraction",
        0,
        *extra,
    )
    rows = [r for r in read_jsonl(out / "pairs.jsonl") if r["split"] == "train"]
    assert sorted((r["line"], r["label"]) for r in rows) == [(n, label) for n in (1, 2, 3) for label in (False, True)]
    metrics = next(r for r in read_jsonl(out / "metrics.jsonl") if r.get("kind") == "metrics" and r.get("split") == "train")
    assert {"kl", "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"} <= set(metrics)
