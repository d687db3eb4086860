"""LoRA across libraries: an adapter trained by the embedded engine (`dpo train --lora-r`) loads in
PEFT onto the same base (PeftModel.from_pretrained) and scores every token as the engine does with
base + adapter (1e-4); the engine's final/merged/ scores as PEFT's merge_and_unload does; and the
adapter is not the zero update (B trained), so the comparison tests the adapter's math."""

from __future__ import annotations

import json
import random

import pytest
import torch
import transformers as tr
from conftest import dpo_cli, engine, hf_token_logps
from peft import PeftModel
from safetensors.torch import load_file

ROWS_SEED = 3


def rows(vocab: int, n=3) -> list[list[int]]:
    rnd = random.Random(ROWS_SEED)
    return [[rnd.randrange(3, vocab) for _ in range(rnd.randrange(10, 24))] for _ in range(n)]


def assert_token_close(ours, ref, what):
    for r, o in zip(ref, ours, strict=True):
        assert len(o) == len(r)
        for t, (a, b) in enumerate(zip(o, r, strict=True)):
            assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), f"{what}: token {t}: ours {a} vs reference {b}"


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def trained(request, tmp_root):
    family = request.param
    root = tmp_root / f"lora-{family}"
    root.mkdir()
    model = root / "model"
    extra = ["--kv-heads", "1"] if family == "llama" else []
    dpo_cli(
        "make-tiny-model",
        "--out",
        str(model),
        "--family",
        family,
        "--layers",
        "2",
        "--d-model",
        "32",
        "--heads",
        "2",
        "--max-positions",
        "64",
        "--seed",
        "4",
        *extra,
    )
    data = root / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Q{i}: yes?", "chosen": " yes.", "rejected": " no!!"}) + "\n" for i in range(8)))
    run = root / "run"
    # Targets chosen to leave some projections without an adapter; a high learning rate makes B clearly nonzero.
    targets = "c_attn,c_fc" if family == "gpt2" else "q_proj,v_proj,down_proj"
    dpo_cli(
        "train",
        "--model",
        str(model),
        "--data",
        str(data),
        "--out",
        str(run),
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--lora-target-modules",
        targets,
        "--max-steps",
        "3",
        "--batch-size",
        "2",
        "--learning-rate",
        "0.05",
        "--merge-lora",
        "--eval-fraction",
        "0",
    )
    return model, run / "final"


def test_adapter_is_peft_shaped_and_trained(trained):
    model, final = trained
    config = json.loads((final / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 8
    tensors = load_file(str(final / "adapter_model.safetensors"))
    assert all(k.startswith("base_model.model.") and (".lora_A.weight" in k or ".lora_B.weight" in k) for k in tensors)
    assert max(t.abs().max().item() for k, t in tensors.items() if "lora_B" in k) > 1e-3


def test_peft_scores_our_adapter_as_we_do(trained):
    model, final = trained
    base = tr.AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, final).eval()
    # The wrapped modules are those the adapter names, and only those.
    wrapped = {n for n, _ in peft.named_modules() if n.endswith(".lora_A")}
    assert len(wrapped) == len(load_file(str(final / "adapter_model.safetensors"))) // 2
    sample = rows(base.config.vocab_size)
    ours = engine([{"op": "logps", "model": str(final), "rows": sample}, {"op": "logps", "model": str(model), "rows": sample}])
    assert all(a["ok"] for a in ours), ours
    ref = hf_token_logps(peft, sample)
    assert_token_close(ours[0]["logps"], ref, "engine base+adapter vs PEFT")
    with peft.disable_adapter():  # the DPO reference: adapters off is the base
        assert_token_close(ours[1]["logps"], hf_token_logps(peft, sample), "engine base vs PEFT adapters off")
    # The adapter changes the scores (so the match above is not base == base).
    assert max(abs(a - b) for r1, r2 in zip(ours[0]["logps"], ours[1]["logps"], strict=True) for a, b in zip(r1, r2, strict=True)) > 1e-3


def test_merged_model_equals_peft_merge(trained):
    model, final = trained
    base = tr.AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    merged_peft = PeftModel.from_pretrained(base, final).merge_and_unload().eval()
    ours = tr.AutoModelForCausalLM.from_pretrained(final / "merged", dtype=torch.float32).eval()
    for name, p in merged_peft.state_dict().items():
        assert torch.allclose(ours.state_dict()[name], p, atol=1e-6, rtol=1e-5), name
    sample = rows(base.config.vocab_size)
    assert_token_close(hf_token_logps(ours, sample), hf_token_logps(merged_peft, sample), "merged")
