"""4. Our exports load elsewhere: final/ of short `dpo sft` and `dpo train` runs loads with
AutoModelForCausalLM (no missing or unexpected weights) and AutoTokenizer, scores tokens as the
embedded engine does (1e-4), and keeps the tokenizer files and the chat template."""

from __future__ import annotations

import json
import random

import pytest
import torch
import transformers as tr
from chat_templates import TEMPLATE_TOKENS, TEMPLATES
from conftest import dpo_cli, engine, hf_token_logps, rel_err
from make_models import make_model
from make_tokenizers import TOKENIZERS, save

CONVERSATIONS = [
    {
        "prompt": [{"role": "user", "content": f"Question {i}: what is {i} + {i}?"}],
        "chosen": [{"role": "assistant", "content": f"{2 * i}."}],
        "rejected": [{"role": "assistant", "content": f"I think {i}{i}, or maybe not."}],
    }
    for i in range(4)
]


def base_model(name, tmp_root, **kw):
    """A transformers-made model with a trained tokenizer and a ChatML-style chat template."""
    tok = TOKENIZERS["bpe-gpt2"]()
    tok.add_special_tokens(TEMPLATE_TOKENS)
    eos = tok.token_to_id("<|im_end|>")
    # Room for ChatML's default system prompt in this small vocabulary.
    kw.setdefault("n_positions" if name.startswith("gpt2") else "max_position_embeddings", 256)
    if name == "phi3":
        kw.setdefault("original_max_position_embeddings", 256)
    d = make_model(name, tmp_root / f"export-base-{name}", vocab=tok.get_vocab_size(), eos=eos, bos=eos, **kw)
    save(tok, d, eos="<|im_end|>", chat_template=TEMPLATES["chatml"])
    return d


def run(cmd, model, data, out, *extra):
    dpo_cli(
        cmd,
        "--model",
        str(model),
        "--data",
        str(data),
        "--out",
        str(out),
        "--max-steps",
        "1",
        "--batch-size",
        "4",
        "--eval-fraction",
        "0",
        "--learning-rate",
        "1e-2",
        "--warmup-ratio",
        "0",
        *extra,
    )
    return out / "final"


def check_export(final, source, tmp_root) -> float:
    """final/ loads in transformers and scores as the engine does; returns the max relative error."""
    model, info = tr.AutoModelForCausalLM.from_pretrained(final, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    tok = tr.AutoTokenizer.from_pretrained(final)
    src_tok = tr.AutoTokenizer.from_pretrained(source)
    assert tok.chat_template == src_tok.chat_template and tok.chat_template
    conv = CONVERSATIONS[0]["prompt"] + CONVERSATIONS[0]["chosen"]
    assert tok.apply_chat_template(conv, tokenize=False) == src_tok.apply_chat_template(conv, tokenize=False)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        assert (final / f).read_bytes() == (source / f).read_bytes(), f"{f} changed on export"
    rnd = random.Random(3)
    rows = [tok.encode(tok.apply_chat_template(c["prompt"] + c["chosen"], tokenize=False)) for c in CONVERSATIONS]
    rows.append([rnd.randrange(model.config.vocab_size) for _ in range(20)])
    ref = hf_token_logps(model.eval(), rows)
    [ours] = engine([{"op": "logps", "model": str(final), "rows": rows}])
    assert ours["ok"], ours.get("error")
    worst = max(rel_err(sum(o), sum(r)) for o, r in zip(ours["logps"], ref, strict=True))
    assert worst <= 1e-4
    # Training changed the weights: the export is not the source copied back.
    before = tr.AutoModelForCausalLM.from_pretrained(source)
    assert any(not torch.equal(a, b) for a, b in zip(before.state_dict().values(), model.state_dict().values(), strict=True))
    return worst


def test_sft_then_dpo_exports_load_in_transformers(tmp_root):
    base = base_model("qwen2", tmp_root)
    data = tmp_root / "export-conv.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS))
    sft = run("sft", base, data, tmp_root / "export-sft")
    check_export(sft, base, tmp_root)
    dpo = run("train", sft, data, tmp_root / "export-dpo")
    check_export(dpo, base, tmp_root)


@pytest.mark.parametrize("name", ["gpt2", "llama3", "qwen3", "mistral-sliding", "phi3", "gemma2", "gemma3"])
def test_dpo_export_of_each_family(name, tmp_root):
    base = base_model(name, tmp_root)
    data = tmp_root / "export-conv.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS))
    check_export(run("train", base, data, tmp_root / f"export-dpo-{name}"), base, tmp_root)


def test_tiny_model_export_loads(tmp_root):
    base = tmp_root / "export-tiny"
    dpo_cli("make-tiny-model", "--out", str(base), "--family", "llama", "--kv-heads", "2", "--d-model", "32", "--layers", "1")
    data = tmp_root / "export-tiny.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS))
    check_export(run("train", base, data, tmp_root / "export-tiny-dpo"), base, tmp_root)
