"""test/conformance/token-text on the torch engine's rule (dpo_studio.token_text; the embedded engine's
is src/protocol/token-text.ts, run on the same cases by test/unit/conformance/token-text.test.ts), and
probe/score through the engine on the tiny model's byte-level tokenizer: a piece of a multi-byte
character names the character instead of reading as U+FFFD or nothing."""

import json
import os

import pytest
from test_protocol import check_messages, talk

from dpo_studio.token_text import token_texts

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES = os.path.join(ROOT, "test", "conformance", "token-text", "cases.json")


def cases() -> list:
    with open(CASES, encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["cases"], f"{CASES}: no cases"
    return doc["cases"]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c["name"])
def test_conformance(case: dict) -> None:
    got = token_texts(case["prefixes"], case["alone"])
    assert got == case["expect"]
    if case.get("joins_to_answer", True):
        assert "".join(t["text"] for t in got) == case["prefixes"][-1]


def test_probe_score_marks_pieces_of_characters(models: dict) -> None:
    from transformers import AutoTokenizer

    byte_case = cases()[1]
    tok = AutoTokenizer.from_pretrained(models["gpt2"])
    ids = tok.encode("a—é😀b", add_special_tokens=False)
    # The case is what this tokenizer decodes, so the rule is tested on real decodings.
    assert [tok.decode(ids[: i + 1]) for i in range(len(ids))] == byte_case["prefixes"]
    req = {"kind": "request", "id": 2, "type": "probe/score", "params": {"prompt": "Q:", "chat": False, "response": "a—é😀b", "beta": 0.1}}
    load = {"kind": "request", "id": 1, "type": "probe/load", "params": {"policyDir": models["gpt2"], "referenceDir": models["gpt2"]}}
    code, msgs = talk([json.dumps(load), json.dumps(req)])
    assert code == 0
    check_messages(msgs)
    reply = next(m for m in msgs if m["kind"] == "reply" and m["id"] == 2)
    shown = [{k: v for k, v in t.items() if k in ("text", "partOf", "unfinished")} for t in reply["result"]["tokens"]]
    assert shown == byte_case["expect"]
