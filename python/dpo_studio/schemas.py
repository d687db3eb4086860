"""The run-config and protocol JSON Schemas, generated from src/protocol (the one source of truth) and
checked in under schemas/. The Python engine validates arriving requests and run configs with them."""

import copy
import json
import math
import os
from functools import cache

import jsonschema

from .kto_config import kto_problems

SCHEMA_DIR = os.environ.get("DPO_SCHEMAS") or os.path.join(os.path.dirname(__file__), "..", "..", "schemas")
ENGINE = "torch"


@cache
def load(name: str) -> dict:
    with open(os.path.join(SCHEMA_DIR, name), encoding="utf-8") as f:
        return json.load(f)


def protocol() -> dict:
    return load("protocol.schema.json")


def config_schema() -> dict:
    return load("dpo-config.schema.json")


def defaults() -> dict:
    return {k: copy.deepcopy(v["default"]) for k, v in config_schema()["properties"].items() if "default" in v}


class ConfigError(ValueError):
    def __init__(self, problems: list, source: str):
        self.problems = problems
        lines = "\n".join(f"  {field}: {message}" for field, message in problems)
        super().__init__(f"{source}: {len(problems)} invalid field(s):\n{lines}")


def resolve_config(partial: dict, source: str = "run config") -> dict:
    """Defaults filled, the schema checked, and the fields this engine cannot honour refused (the
    same `x-engines` annotations the TypeScript side reads), every bad field named."""
    schema = config_schema()
    c = {**defaults(), **{k: v for k, v in partial.items() if k != "$schema"}}
    problems = []
    for e in sorted(jsonschema.Draft7Validator(schema).iter_errors(c), key=lambda e: list(e.path)):
        # An item's error (loss_weights[1]) is the field's: the message says which item.
        field = str(e.path[0]) if e.path else "(root)"
        item = "".join(f"[{p}]" for p in list(e.path)[1:])
        if e.validator == "additionalProperties":
            for extra in sorted(set(c) - set(schema["properties"])):
                problems.append((extra, "unknown field"))
        else:
            problems.append((field, f"{item} {e.message}" if item else e.message))
    # JSON Schema cannot tell Infinity from a number, and 1e400 reads as inf (nonFiniteFields in config.ts).
    for field, v in c.items():
        if isinstance(v, float) and not math.isfinite(v):
            shown = "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
            problems.append((field, f"must be a finite number, got {shown} (a literal such as 1e400 overflows)"))
    for f, what in (("model", "the policy model folder"), ("data", "the preference JSONL file")):
        if not c.get(f):
            problems.append((f, f"required: {what}"))
    if problems:
        raise ConfigError(problems, source)
    problems += objective_problems(c)
    from .loss_terms import loss_term_problems  # here: loss_terms reads this module's schema

    problems += [(p["field"], p["message"]) for p in loss_term_problems(c)]
    if c["engine"] != ENGINE:
        problems.append(("engine", f'this is the torch engine; the config says "{c["engine"]}"'))
    for field, s in schema["properties"].items():
        engines = s.get("x-engines")
        if not engines or ENGINE in engines or c.get(field) == s.get("default"):
            continue
        why = f" ({s['x-why']})" if s.get("x-why") else ""
        problems.append(
            (
                field,
                f'the torch engine does not honour it{why}; it is for engine "{engines[0]}" only: remove it or set it to {json.dumps(s["default"])}',
            )
        )
    problems.extend(kto_problems(c, defaults()))
    if problems:
        raise ConfigError(problems, source)
    return c


REFERENCE_FREE_LOSSES = ("simpo", "orpo")


def objective_problems(c: dict) -> list[tuple[str, str]]:
    """objectiveProblems of src/protocol/objective-config.ts: SimPO fields with another loss type, and
    reference fields with a reference-free one (test/conformance/config holds the two together)."""
    if c["mode"] != "dpo":
        return []
    schema = config_schema()["properties"]
    out = []
    for field in ("simpo_gamma", "cpo_alpha"):
        if c["loss_type"] != "simpo" and c[field] != schema[field]["default"]:
            out.append((field, f'applies to loss_type "simpo" only (got "{c["loss_type"]}"): remove it or set loss_type to "simpo"'))
    if c["loss_type"] not in REFERENCE_FREE_LOSSES:
        return out
    unused = (
        ("reference_model", "it has no reference model"),
        ("precompute_ref_log_probs", "it has no reference log-probs to cache"),
        ("reference_free", "it is reference-free already"),
        ("sft_weight", "its NLL term is cpo_alpha" if c["loss_type"] == "simpo" else "ORPO has its own NLL term"),
    )
    for field, why in unused:
        if c[field] != schema[field]["default"]:
            out.append((field, f'loss_type "{c["loss_type"]}" does not use it ({why}): remove it'))
    return out


def request_problem(msg: dict) -> str | None:
    """Why a parsed request cannot be acted on (kind, id and type checked by the caller), naming the
    field as parseRequest does (`run/resume: params.runDir ...`): the first bad field in the order the
    schema lists them, which is the order src/protocol/messages.ts checks them in."""
    schema = protocol()["requests"][msg["type"]]
    params = msg.get("params", {})
    if not isinstance(params, dict):
        return f"{msg['type']}: params must be an object"
    order = list(schema.get("properties", {}))
    found: list[tuple[int, str, str]] = []
    for e in jsonschema.Draft7Validator(schema).iter_errors(params):
        if e.validator == "required":
            for name in e.validator_value:
                if name not in params:
                    found.append((order.index(name) if name in order else len(order), name, "is required"))
        elif e.path:
            name = str(e.path[0])
            where = ".".join(str(p) for p in e.path)
            found.append((order.index(name) if name in order else len(order), where, e.message))
        else:
            found.append((len(order), "", e.message))
    if not found:
        return None
    _, where, message = min(found, key=lambda f: f[0])
    return f"{msg['type']}: params{'.' + where if where else ''} {message}"
