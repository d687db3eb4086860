"""The data of a KTO run (mode "kto"): TRL's unpaired lines {"prompt", "completion", "label"} with their
1-based data-file line, or a paired file unpaired by TRL's own unpair_preference_dataset (each pair ->
a desirable and an undesirable line, in its order). The rules of src/engine/data/unpaired.ts."""

import json
from typing import Any

from .data import DataError, _text_problem, read_pairs


def is_unpaired(o: Any) -> bool:
    """A "completion" and no "chosen"/"rejected" (its label is checked by unpaired_problems)."""
    return isinstance(o, dict) and "completion" in o and "chosen" not in o and "rejected" not in o


def unpaired_problems(o: dict) -> list[tuple[str, str]]:
    """(field, problem) of an unpaired line; [] when it is usable."""
    bad = [(k, p) for k in ("prompt", "completion") if (p := _text_problem(o.get(k), k == "completion"))]
    if not isinstance(o.get("label"), bool):
        bad.append(("label", f"must be true (desirable) or false (undesirable), got {json.dumps(o.get('label'))}"))
    if not bad and isinstance(o["prompt"], list) != isinstance(o["completion"], list):
        bad = [("completion", '"prompt" and "completion" must both be text or both be message lists')]
    return bad


def read_unpaired(path: str, skip_bad_lines: bool) -> tuple[list[dict], list[str], int, bool]:
    """(rows, problems, excluded, from_pairs): rows are {line, prompt, completion, label}."""
    lines: list[dict] = []
    problems: list[str] = []
    excluded = 0
    pair_lines: list[int] = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                o = json.loads(raw.decode("utf-8")) if raw.strip() else None
            except (ValueError, RecursionError):
                o = None  # read_pairs below reports it with the wording of every other reader
                pair_lines.append(n)
                continue
            if o is None:
                continue
            if isinstance(o, dict) and o.get("label") in ("tie", "skip") and "chosen" not in o and "rejected" not in o:
                excluded += 1  # a labeler's withdrawn judgement, as isExcludedLine
                continue
            if not is_unpaired(o):
                pair_lines.append(n)
                continue
            bad = unpaired_problems(o)
            if bad:
                problems.extend(f"{path}:{n}: field '{k}': {p}" for k, p in bad)
                continue
            lines.append({"line": n, "prompt": o["prompt"], "completion": o["completion"], "label": o["label"]})
    if lines and pair_lines:
        raise DataError(
            f"{path}: mixes unpaired lines and pairs (e.g. line {min(pair_lines) if len(pair_lines) < len(lines) else lines[0]['line']}); "
            "use one format per file (`dpo convert --to unpaired` turns pairs into unpaired lines)"
        )
    if pair_lines or not lines:
        pairs, pair_problems, excluded = read_pairs(path, skip_bad_lines, completions=False)
        return unpair(pairs), pair_problems, excluded, True
    if problems and not skip_bad_lines:
        raise DataError(f"{path}: {len(problems)} unusable line(s) (set skip_bad_lines to skip them):\n" + "\n".join(problems[:20]))
    return lines, problems, excluded, False


def unpair(pairs: list[dict]) -> list[dict]:
    """TRL's unpair_preference_dataset on the pairs (the line travels as an extra column)."""
    if not pairs:
        return []
    from datasets import Dataset
    from trl.data_utils import unpair_preference_dataset

    return list(unpair_preference_dataset(Dataset.from_list(pairs)).to_list())
