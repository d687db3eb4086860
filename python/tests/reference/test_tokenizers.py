"""2. Tokenizers trained by the `tokenizers` library: the embedded engine's ids equal the library's
on 1,000+ varied strings each, with and without the post-processor's special tokens."""

from __future__ import annotations

import pytest
from conftest import engine
from make_tokenizers import TOKENIZERS, save, varied_strings
from tokenizers import Tokenizer


@pytest.mark.parametrize("name", list(TOKENIZERS))
def test_ids_equal_tokenizers_library(name, tmp_root, record_property):
    d = save(TOKENIZERS[name](), tmp_root / f"tok-{name}")
    ref = Tokenizer.from_file(str(d / "tokenizer.json"))
    texts = varied_strings(1000)
    plain, special = engine(
        [
            {"op": "encode", "tokenizer": str(d), "texts": texts, "add_special_tokens": False},
            {"op": "encode", "tokenizer": str(d), "texts": texts, "add_special_tokens": True},
        ]
    )
    assert plain["ok"] and special["ok"], (plain.get("error"), special.get("error"))
    for ours_all, add in ((plain["ids"], False), (special["ids"], True)):
        expected = [e.ids for e in ref.encode_batch(texts, add_special_tokens=add)]
        mismatches = [(t, o, e) for t, o, e in zip(texts, ours_all, expected, strict=True) if o != e]
        assert not mismatches, f"{len(mismatches)} of {len(texts)} differ (add_special_tokens={add}); first: {mismatches[0]!r}"
    record_property("strings", len(texts))
    # The strings really exercise the tokenizer: specials inside text, multi-token strings, byte fallback.
    flat = {i for ids in plain["ids"] for i in ids}
    assert ref.token_to_id("<|im_start|>") in flat
    assert sum(len(ids) for ids in plain["ids"]) > 10 * len(texts)
    if name == "sentencepiece-bpe":
        assert flat & {ref.token_to_id(f"<0x{b:02X}>") for b in range(256)}, "no byte-fallback token was produced"
