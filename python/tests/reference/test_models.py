"""1. Models made by transformers: each architecture, saved by save_pretrained with random weights,
scores response tokens in the embedded engine as in transformers (1e-4 relative on the summed
response log-probs, the number DPO is built on)."""
from __future__ import annotations

import json
import random

import pytest
import torch
import transformers as tr

from conftest import engine, hf_token_logps, rel_err
from make_models import ARCHITECTURES, VOCAB, make_model

# Rows longer than the sliding windows (8) so that windowed attention is exercised.
PROMPT_LEN = 7


def sample_rows(n=4, seed=1) -> list[list[int]]:
    rnd = random.Random(seed)
    return [[rnd.randrange(3, VOCAB) for _ in range(rnd.randrange(12, 30))] for _ in range(n)]


def compare(model_dir, rows, dtype=None) -> float:
    """Max relative error of the summed response log-probs, ours vs transformers'."""
    hf = tr.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32 if dtype is None else dtype).float().eval()
    ref = hf_token_logps(hf, rows)
    [ours] = engine([{"op": "logps", "model": str(model_dir), "rows": rows}])
    assert ours["ok"], ours.get("error")
    worst = 0.0
    for r, o in zip(ref, ours["logps"]):
        assert len(o) == len(r)
        for t, (a, b) in enumerate(zip(o, r)):  # every token, so a wrong position cannot average out
            assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), f"token {t}: ours {a} vs transformers {b}"
        worst = max(worst, rel_err(sum(o[PROMPT_LEN - 1:]), sum(r[PROMPT_LEN - 1:])))
    assert worst <= 1e-4
    return worst


# Architectures the engine implements; every other one must be refused by name.
SUPPORTED = ["gpt2", "gpt2-untied", "llama3", "llama-tied", "qwen2", "qwen3", "mistral", "mistral-sliding", "phi3", "gemma2", "gemma3"]


@pytest.mark.parametrize("name", SUPPORTED)
def test_logps_equal_transformers(name, tmp_root, record_property):
    d = make_model(name, tmp_root / f"model-{name}")
    worst = compare(d, sample_rows())
    record_property("max_rel_err", worst)
    print(f"{name}: max relative error {worst:.2e}")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["llama3", "gpt2"])
def test_half_precision_weight_files(name, dtype, tmp_root):
    # The engine widens F16/BF16 to float32; transformers is run on the same widened weights, so the
    # only difference left is the engine's (the file's rounding is shared by both).
    d = make_model(name, tmp_root / f"model-{name}-{dtype}".replace("torch.", ""), dtype=dtype)
    header = json.loads((d / "model.safetensors").read_bytes()[8:8 + int.from_bytes((d / "model.safetensors").read_bytes()[:8], "little")])
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"F16" if dtype == torch.float16 else "BF16"}
    compare(d, sample_rows(2, seed=2), dtype=dtype)


@pytest.mark.parametrize("name", ["qwen2", "gpt2"])
def test_sharded_checkpoint(name, tmp_root):
    d = make_model(name, tmp_root / f"model-{name}-sharded", max_shard_size="20KB")
    shards = sorted(p.name for p in d.glob("model-*.safetensors"))
    assert len(shards) >= 2 and (d / "model.safetensors.index.json").exists()
    compare(d, sample_rows(2, seed=3))


@pytest.mark.parametrize("config_cls", [tr.FalconConfig, tr.MixtralConfig])
def test_unsupported_architecture_is_named(config_cls, tmp_root):
    d = tmp_root / f"unsupported-{config_cls.__name__}"
    d.mkdir()
    cfg = config_cls()
    cfg.architectures = [config_cls.__name__.replace("Config", "ForCausalLM")]
    cfg.save_pretrained(d)
    [answer] = engine([{"op": "logps", "model": str(d), "rows": [[1, 2]]}])
    assert not answer["ok"]
    assert f"unsupported architecture \"{cfg.architectures[0]}\"" in answer["error"]
