"""Preference JSONL -> rows with their 1-based data-file line, the formats the tfjs engine reads
(src/protocol/preference-line.ts): text or chat-message prompt/chosen/rejected, TRL's
prompt-completion lines for SFT, tie/skip labels left out. The line number travels through TRL's
dataset to pairs.jsonl so drill-down opens the right line."""

import json
from typing import Any

from .formats import to_trl_fields
from .rng import held_out_indices


class DataError(ValueError):
    pass


def _text_problem(v: Any, response: bool) -> str | None:
    if v is None:
        return "missing"
    if isinstance(v, list):
        for i, m in enumerate(v):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
                return f'message {i} is not an object with string "role" and "content"'
        empty = all(not m["content"].strip() for m in v)
    elif isinstance(v, str):
        empty = not v.strip()
    else:
        return 'must be a string or a list of {"role", "content"} messages'
    return "empty response" if response and empty else None


def read_pairs(path: str, skip_bad_lines: bool, completions: bool) -> tuple[list, list, int]:
    """(rows, problems, excluded) where a row is {line, prompt, chosen, rejected}."""
    rows, problems, excluded = [], [], 0
    with open(path, "rb") as f:
        for n, raw_bytes in enumerate(f, start=1):
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.append(
                    f"{path}:{n}: not UTF-8 text (byte 0x{raw_bytes[e.start]:02x} at column {e.start + 1}); save the file as UTF-8"
                )
                continue
            if not raw.strip():
                continue
            try:
                o = json.loads(raw)
            except ValueError as e:
                problems.append(f"{path}:{n}: not JSON ({e})")
                continue
            except RecursionError:
                problems.append(f"{path}:{n}: JSON nested too deeply to read; a line holds one flat object of prompt, chosen, rejected")
                continue
            if not isinstance(o, dict):
                problems.append(f'{path}:{n}: not a JSON object; expected {{"prompt": …, "chosen": …, "rejected": …}}')
                continue
            if o.get("label") in ("tie", "skip") and "chosen" not in o and "rejected" not in o:
                excluded += 1
                continue
            if not completions and "completion" in o and isinstance(o.get("label"), bool):
                problems.append(
                    f'{path}:{n}: field \'label\': an unpaired line ("prompt", "completion", "label"): DPO trains on pairs; '
                    'train the file with mode "kto" (`dpo kto`), or pair it up with `dpo convert --to paired`'
                )
                continue
            o, problem = to_trl_fields(o)
            if problem:
                problems.append(f"{path}:{n}: field '{problem[0]}': {problem[1]}")
                continue
            fields: tuple[str, ...]
            if completions and "completion" in o and "chosen" not in o:
                o = {"prompt": o.get("prompt"), "chosen": o["completion"], "rejected": o["completion"]}
                fields = ("prompt", "chosen")
            else:
                fields = ("prompt", "chosen", "rejected")
            bad = [(k, p) for k in fields if (p := _text_problem(o.get(k), k != "prompt"))]
            if not bad and len({isinstance(o[k], list) for k in fields}) > 1:
                bad = [("chosen", "prompt and responses must all be text or all be message lists")]
            if not bad and not completions and o["chosen"] == o["rejected"]:
                bad = [("rejected", 'identical to "chosen": the pair carries no preference')]
            if bad:
                problems.extend(f"{path}:{n}: field '{k}': {p}" for k, p in bad)
                continue
            rows.append({"line": n, "prompt": o["prompt"], "chosen": o["chosen"], "rejected": o["rejected"]})
    if not rows and not problems and not excluded:
        raise DataError(f'{path}: no preference pairs (the file is empty); add JSONL lines of {{"prompt", "chosen", "rejected"}}')
    if problems and not skip_bad_lines:
        shown = "\n".join(problems[:20])
        raise DataError(f"{path}: {len(problems)} unusable line(s) (set skip_bad_lines to skip them):\n{shown}")
    return rows, problems, excluded


def split_eval(rows: list, fraction: float, seed: int) -> tuple[list, list]:
    """The seeded held-out split both engines make (src/protocol/eval-split.ts): the same pairs."""
    held = set(held_out_indices(len(rows), fraction, seed))
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]
