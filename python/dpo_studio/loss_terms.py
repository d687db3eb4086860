"""Combined DPO losses: `loss_type` as a list with `loss_weights` (TRL's DPOTrainer form) and the
deprecated `sft_weight` alias, as src/protocol/loss-terms.ts defines them; test/conformance/config and
pair-values hold the two together. The members come from the generated config schema. No math here."""

import json
from typing import Any

from . import schemas


def loss_members() -> list[str]:
    """The names a loss list may hold (the schema's list form of loss_type)."""
    forms = schemas.config_schema()["properties"]["loss_type"]["anyOf"]
    return next(f["items"]["enum"] for f in forms if f.get("type") == "array")


def loss_terms(c: dict[str, Any]) -> list[tuple[str, float]]:
    """(member, weight) pairs of the objective: sft_weight w > 0 is [loss_type, "sft"] with [1, w]."""
    types = c["loss_type"] if isinstance(c["loss_type"], list) else [c["loss_type"]]
    weights = c.get("loss_weights") or [1.0] * len(types)
    terms = [(t, float(w)) for t, w in zip(types, weights, strict=True)]
    if (c.get("sft_weight") or 0) > 0 and "sft" not in types:
        terms.append(("sft", float(c["sft_weight"])))
    return terms


def loss_type_label(loss_type: Any) -> str:
    return "+".join(loss_type) if isinstance(loss_type, list) else str(loss_type)


def loss_term_problems(c: dict[str, Any]) -> list[dict[str, str]]:
    """Rules across loss_type, loss_weights and sft_weight (lossTermProblems in loss-terms.ts)."""
    out = []
    members = loss_members()
    lt = c["loss_type"]
    is_list = isinstance(lt, list)
    if is_list:
        bad = [t for t in lt if t not in members]
        if bad:
            out.append(
                {
                    "field": "loss_type",
                    "message": f"a loss list may hold only {', '.join(json.dumps(m) for m in members)} (DPOTrainer's losses); got {', '.join(json.dumps(b) for b in bad)}",
                }
            )
    n = len(lt) if is_list else 1
    weights = c.get("loss_weights")
    if weights is not None and len(weights) != n:
        out.append(
            {
                "field": "loss_weights",
                "message": f"has {len(weights)} weight(s) for {n} loss type(s) ({loss_type_label(lt)}): give one weight per loss_type entry, in the same order",
            }
        )
    sft = c.get("sft_weight") or 0
    if sft > 0 and not is_list and lt not in members:
        out.append({"field": "sft_weight", "message": f'adds DPOTrainer\'s "sft" term; loss_type "{lt}" takes none: remove sft_weight'})
    if sft > 0 and is_list:
        out.append(
            {
                "field": "sft_weight",
                "message": f'is the deprecated spelling of ["sigmoid","sft"] with loss_weights [1, {sft}]; with a loss_type list, add "sft" to the list and its weight to loss_weights instead',
            }
        )
    return out
