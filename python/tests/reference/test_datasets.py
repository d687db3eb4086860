"""6. TRL-format datasets (standard, conversational, implicit prompt in both) read through
`datasets` (load_dataset("json") + TRL's maybe_extract_prompt, as DPOTrainer prepares them) and
through the embedded engine's reader give the same pairs in the same order."""

from __future__ import annotations

import json
import random

import pytest
from conftest import engine
from datasets import load_dataset
from make_tokenizers import varied_strings
from trl.data_utils import maybe_extract_prompt


def clean(value):
    """datasets stores message lists as Arrow structs: keys missing from a message come back as None."""
    if isinstance(value, list):
        return [{k: v for k, v in m.items() if v is not None} for m in value]
    return value


def rows(kind: str, n: int = 200, seed: int = 0) -> list[dict]:
    rnd = random.Random(seed)
    texts = [t for t in varied_strings(500, seed=seed + 1) if t.strip()]
    out = []
    while len(out) < n:
        p, c, r = rnd.sample(texts, 3)
        if kind == "standard":
            out.append({"prompt": p, "chosen": c, "rejected": r})
        elif kind == "conversational":
            system = [{"role": "system", "content": rnd.choice(texts)}] if rnd.random() < 0.3 else []
            out.append(
                {
                    "prompt": system + [{"role": "user", "content": p}],
                    "chosen": [{"role": "assistant", "content": c}],
                    "rejected": [{"role": "assistant", "content": r}],
                }
            )
        elif kind == "implicit-standard":
            # Shared starts of every kind: a space before the difference, none, a newline.
            out.append({"chosen": p + rnd.choice([" ", "", "\n"]) + c, "rejected": p + rnd.choice([" ", "", "\n"]) + r})
        else:
            turns = [{"role": "user", "content": p}]
            if rnd.random() < 0.5:
                turns += [{"role": "assistant", "content": rnd.choice(texts)}, {"role": "user", "content": rnd.choice(texts)}]
            out.append({"chosen": turns + [{"role": "assistant", "content": c}], "rejected": turns + [{"role": "assistant", "content": r}]})
    # Lines whose chosen and rejected differ only in a trailing part, or are one-sided prefixes.
    return [x for x in out if x["chosen"] != x["rejected"]]


@pytest.mark.parametrize("kind", ["standard", "conversational", "implicit-standard", "implicit-conversational"])
def test_same_pairs_in_same_order(kind, tmp_root):
    data = tmp_root / f"dataset-{kind}.jsonl"
    lines = rows(kind)
    data.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    ds = load_dataset("json", data_files=str(data), split="train", cache_dir=str(tmp_root / "hf-datasets")).map(
        maybe_extract_prompt, keep_in_memory=True
    )
    [ours] = engine([{"op": "read_pairs", "file": str(data)}])
    assert ours["ok"], ours.get("error")
    assert len(ours["pairs"]) == len(ds) == len(lines)
    for i, (got, want) in enumerate(zip(ours["pairs"], ds, strict=True)):
        assert got["line"] == i + 1
        for f in ("prompt", "chosen", "rejected"):
            assert got[f] == clean(want[f]), f"line {i + 1} field {f}: ours {got[f]!r} vs datasets+TRL {want[f]!r}"
        assert got["conversational"] == isinstance(want["prompt"], list)
