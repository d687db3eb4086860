"""3. Chat templates render exactly as transformers' apply_chat_template (errors included), and the
prompt/response token split of preference pairs equals TRL DPOTrainer's own preprocessing."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest
import transformers as tr
from chat_templates import TEMPLATE_TOKENS, TEMPLATES
from conftest import engine
from datasets import Dataset
from make_tokenizers import TOKENIZERS, save, varied_strings
from trl import DPOConfig, DPOTrainer

ROLES = ["user", "assistant"]


def conversations(n: int, seed: int) -> list[list[dict]]:
    """Valid conversations (optional system, alternating turns) and some that break the rules."""
    rnd = random.Random(seed)
    texts = varied_strings(400, seed=seed)
    out = []
    for k in range(n):
        msgs = [{"role": "system", "content": rnd.choice(texts)}] if rnd.random() < 0.4 else []
        msgs += [{"role": ROLES[i % 2], "content": rnd.choice(texts)} for i in range(rnd.randrange(1, 5))]
        if k % 7 == 3:  # broken: a repeated role, an unknown role, or the assistant first
            bad = rnd.choice(["repeat", "tool", "assistant-first"])
            if bad == "repeat":
                msgs.append(dict(msgs[-1]))
            elif bad == "tool":
                msgs.append({"role": "tool", "content": "42"})
            else:
                msgs = [{"role": "assistant", "content": "hi"}] + msgs
        out.append(msgs)
    return out


def tokenizer_dir(tmp_root, template: str | None, base: str = "bpe-llama3", eos: str = "</s>", bos: str | None = "<s>"):
    tok = TOKENIZERS[base]()
    tok.add_special_tokens(TEMPLATE_TOKENS)
    name = f"tok-chat-{base}-{template}"
    return save(tok, tmp_root / name, eos=eos, bos=bos, chat_template=TEMPLATES[template] if template else None)


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_render_equals_apply_chat_template(template, tmp_root):
    d = tokenizer_dir(tmp_root, template)
    hf = tr.AutoTokenizer.from_pretrained(d)
    convs = conversations(120, seed=len(template))
    requests = [{"messages": m, "add_generation_prompt": g} for m in convs for g in (False, True)]
    [ours] = engine([{"op": "chat", "tokenizer": str(d), "conversations": requests}])
    assert ours["ok"], ours.get("error")
    errors = 0
    for req, got in zip(requests, ours["rendered"], strict=True):
        try:
            want = hf.apply_chat_template(req["messages"], tokenize=False, add_generation_prompt=req["add_generation_prompt"])
        except Exception as err:  # transformers raises TemplateError for raise_exception
            errors += 1
            assert "error" in got, f"transformers raised {err!r} but the engine rendered {got.get('text')!r}"
            continue
        assert got.get("text") == want, f"{req!r}: engine {got!r} vs transformers {want!r}"
    if template in ("inst", "gemma", "phi3"):
        assert errors > 0, "the raising template never raised: the bad conversations are not bad"


def trl_tokenized(tokenizer, rows: list[dict], tmp_root):
    """TRL DPOTrainer's own preprocessing (prompt extraction, EOS, tokenize_fn) on `rows`."""
    args = DPOConfig(output_dir=str(tmp_root / "trl-args"), max_length=None, report_to=[], bf16=False, use_cpu=True)
    fake = SimpleNamespace(_tokenizer=tokenizer)
    return DPOTrainer._prepare_dataset(fake, Dataset.from_list(rows), tokenizer, args, "train")


def pair_rows(seed: int, conversational: bool) -> list[dict]:
    rnd = random.Random(seed)
    texts = [t for t in varied_strings(300, seed=seed) if t.strip()]
    rows = []
    for _ in range(60):
        p, c, r = rnd.sample(texts, 3)
        if conversational:
            prompt = ([{"role": "system", "content": rnd.choice(texts)}] if rnd.random() < 0.3 else []) + [{"role": "user", "content": p}]
            rows.append(
                {"prompt": prompt, "chosen": [{"role": "assistant", "content": c}], "rejected": [{"role": "assistant", "content": r}]}
            )
        else:
            # Seams that tokenizers merge across: no space, a space on either side, a newline.
            sep = rnd.choice(["", " ", "\n"])
            rows.append({"prompt": p + rnd.choice(["", " "]), "chosen": sep + c, "rejected": sep + r})
    return rows


def compare_split(tokenizer_path, rows, tmp_root, name):
    hf = tr.AutoTokenizer.from_pretrained(tokenizer_path)
    ref = trl_tokenized(hf, rows, tmp_root)
    data = tmp_root / f"pairs-{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    [ours] = engine([{"op": "tokenize_pairs", "tokenizer": str(tokenizer_path), "file": str(data)}])
    assert ours["ok"], ours.get("error")
    assert len(ours["pairs"]) == len(ref)
    for got, want in zip(ours["pairs"], ref, strict=True):
        assert (got["promptIds"], got["chosenIds"], got["rejectedIds"]) == (want["prompt_ids"], want["chosen_ids"], want["rejected_ids"]), (
            f"line {got['line']}"
        )
    return len(ref)


@pytest.mark.parametrize("template", ["chatml", "llama3", "inst", "gemma", "phi3", "zephyr"])
def test_conversational_boundary_equals_trl(template, tmp_root):
    d = tokenizer_dir(tmp_root, template)
    rows = [r for r in pair_rows(11, conversational=True) if template not in ("gemma",) or r["prompt"][0]["role"] != "system"]
    assert compare_split(d, rows, tmp_root, f"conv-{template}") >= 40


@pytest.mark.parametrize("base", list(TOKENIZERS))
def test_standard_boundary_equals_trl(base, tmp_root):
    d = tokenizer_dir(tmp_root, None, base=base, eos="<|endoftext|>", bos="<s>" if base == "sentencepiece-bpe" else None)
    assert compare_split(d, pair_rows(5, conversational=False), tmp_root, f"std-{base}") == 60
