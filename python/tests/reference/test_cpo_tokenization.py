"""SimPO and ORPO runs tokenize as TRL's CPOTrainer/ORPOTrainer do (their shared tokenize_row): the
embedded engine's `rule: "cpo"` gives the same prompt, chosen and rejected ids as TRL's own
preprocessing (chat template, BOS, EOS, the seam rule), for every fixture tokenizer and the chat
templates; a pair whose chosen and rejected prompts tokenize differently is refused by line."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import transformers as tr
from conftest import engine
from make_tokenizers import TOKENIZERS
from test_chat_templates import pair_rows, tokenizer_dir
from trl.data_utils import maybe_apply_chat_template, maybe_extract_prompt
from trl.experimental.cpo import CPOTrainer


def trl_rows(tokenizer, rows: list[dict]) -> list[dict]:
    """CPOTrainer's own preprocessing of `rows`, without truncation (both engines cut the same way after)."""
    fake = SimpleNamespace(processing_class=tokenizer, is_encoder_decoder=False, max_length=1 << 30)
    fake.build_tokenized_answer = lambda p, a: CPOTrainer.build_tokenized_answer(fake, p, a)
    out = []
    for row in rows:
        row = maybe_apply_chat_template(maybe_extract_prompt(row), tokenizer)
        out.append(CPOTrainer.tokenize_row(fake, row))
    return out


def split(row: dict, side: str) -> tuple[list[int], list[int]]:
    n = sum(1 for x in row[f"{side}_labels"] if x == -100)
    return row[f"{side}_input_ids"][:n], row[f"{side}_input_ids"][n:]


def compare(tokenizer_path, rows, tmp_root, name) -> int:
    hf = tr.AutoTokenizer.from_pretrained(tokenizer_path)
    ref = trl_rows(hf, rows)
    # TRL trains a pair whose chosen and rejected prompt ids differ with two prompts; ours refuses it
    # (checked below): compare the others.
    same = [(r, t) for r, t in zip(rows, ref, strict=True) if split(t, "chosen")[0] == split(t, "rejected")[0]]
    data = tmp_root / f"cpo-pairs-{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r, _ in same))
    [ours] = engine([{"op": "tokenize_pairs", "tokenizer": str(tokenizer_path), "file": str(data), "rule": "cpo"}])
    assert ours["ok"], ours.get("error")
    assert len(ours["pairs"]) == len(same)
    for got, (_, want) in zip(ours["pairs"], same, strict=True):
        prompt, chosen = split(want, "chosen")
        _, rejected = split(want, "rejected")
        assert (got["promptIds"], got["chosenIds"], got["rejectedIds"]) == (prompt, chosen, rejected), f"line {got['line']}"
    return len(same)


@pytest.mark.parametrize("base", list(TOKENIZERS))
def test_standard_rows_equal_trl_cpo(base, tmp_root):
    d = tokenizer_dir(tmp_root, None, base=base, eos="<|endoftext|>", bos="<s>" if base == "sentencepiece-bpe" else None)
    assert compare(d, pair_rows(5, conversational=False), tmp_root, f"std-{base}") >= 40


@pytest.mark.parametrize("template", ["chatml", "llama3", "zephyr"])
def test_conversational_rows_equal_trl_cpo(template, tmp_root):
    d = tokenizer_dir(tmp_root, template)
    assert compare(d, pair_rows(11, conversational=True), tmp_root, f"conv-{template}") >= 40


def test_a_pair_without_a_common_prompt_is_refused_by_line(tmp_root):
    d = tokenizer_dir(tmp_root, None, base="bpe-gpt2", eos="<|endoftext|>", bos=None)
    hf = tr.AutoTokenizer.from_pretrained(d)
    # "prefer" + "s" merges its last token ("r" + "s"), "prefer" + " x" does not.
    rows = [{"prompt": "prefer", "chosen": "s", "rejected": " pairs"}]
    [t] = trl_rows(hf, rows)
    assert split(t, "chosen")[0] != split(t, "rejected")[0], "the fixture pair does tokenize its prompt two ways"
    data = tmp_root / "cpo-two-prompts.jsonl"
    data.write_text(json.dumps(rows[0]) + "\n")
    [ours] = engine([{"op": "tokenize_pairs", "tokenizer": str(d), "file": str(data), "rule": "cpo"}])
    assert not ours["ok"] and "line 1" in ours["error"] and "common prompt" in ours["error"]
