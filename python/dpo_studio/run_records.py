"""The records of metrics.jsonl and pairs.jsonl, read as src/protocol/run-folder.ts reads them: one
guard per record, and a tolerant reader (a torn last line, from a kill mid-append, is dropped quietly;
any other bad line is reported with its line number, never fatal). The enums come from the generated
schemas/run-records.schema.json; test/conformance/records holds the cases both engines pass."""

import json
import math
from typing import Any

from . import schemas

EVAL_PREFIX = "eval_"
_HEAD = ("kind", "split", "step", "epoch")
Parsed = tuple[dict | None, str | None]  # (record in its line shape, None) or (None, error)


def _enum(definition: str, field: str) -> list:
    return schemas.load("run-records.schema.json")["definitions"][definition]["properties"][field]["enum"]


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_step(v: object) -> bool:
    # Number.isInteger(v) && v >= 0: 2.0 is a step too, as it is in JavaScript.
    return _is_num(v) and float(v).is_integer() and v >= 0  # type: ignore[operator, arg-type]


def _js(v: object) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _metrics(o: dict, split: object) -> Parsed:
    if split not in ("train", "eval"):
        return None, f'metrics: split must be "train" or "eval", got {_js(split) if split is not None or "split" in o else "undefined"}'
    if not _is_step(o.get("step")):
        return None, "metrics: step must be an integer >= 0"
    if "epoch" in o and not _is_num(o["epoch"]):
        return None, "metrics: epoch must be a number"
    values = {}
    for k, v in o.items():
        if k in _HEAD:
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None, f"metrics: {k} must be a number"
        if (split == "eval") != k.startswith(EVAL_PREFIX):
            return None, f'metrics: {k} in a {split} record (eval names, and only they, start with "{EVAL_PREFIX}")'
        values[k] = v
    return {"kind": "metrics", "split": split, "step": o["step"], "epoch": o.get("epoch", 0), **values}, None


def parse_run_record(raw: Any) -> Parsed:
    """One metrics.jsonl record, checked. A line without `kind` is the old shape: flat metrics, eval when it holds eval_loss."""
    if not isinstance(raw, dict):
        return None, "a record must be a JSON object"
    if "kind" not in raw:
        return _metrics(raw, "eval" if EVAL_PREFIX + "loss" in raw else "train")
    kind = raw["kind"]
    if kind not in ("metrics", "warning", "status"):
        return None, f"unknown record kind {_js(kind)} (written by a newer version?)"
    if kind == "metrics":
        return _metrics(raw, raw.get("split"))
    if kind == "warning":
        codes = _enum("warning", "code")
        if not _is_step(raw.get("step")) or raw.get("code") not in codes or not isinstance(raw.get("message"), str):
            return None, f"warning: needs step, code (one of {', '.join(codes)}) and message"
        return {"kind": "warning", "step": raw["step"], "code": raw["code"], "message": raw["message"]}, None
    statuses, engines = _enum("status", "status"), _enum("status", "engine")
    if (
        raw.get("status") not in statuses
        or not _is_step(raw.get("step"))
        or not _is_step(raw.get("total_steps"))
        or not isinstance(raw.get("time"), str)
        or raw.get("engine") not in engines
        or not isinstance(raw.get("device"), str)
    ):
        return None, f"status: needs status ({', '.join(statuses)}), step, total_steps, time, engine ({', '.join(engines)}) and device"
    if "message" in raw and not isinstance(raw["message"], str):
        return None, "status: message must be a string"
    keep = ("kind", "status", "step", "total_steps", "time", "engine", "device", "message")
    return {k: raw[k] for k in keep if k in raw}, None


def parse_pair_record(raw: Any) -> Parsed:
    if not isinstance(raw, dict):
        return None, "a pair record must be a JSON object"
    nums = ("chosen_reward", "rejected_reward", "margin", "loss")
    if (
        not _is_step(raw.get("step"))
        or raw.get("split") not in ("train", "eval")
        or not _is_step(raw.get("line"))
        or raw["line"] < 1
        or not all(_is_num(raw.get(k)) for k in nums)
    ):
        return None, "pair: needs step, split (train|eval), line and the numbers chosen_reward, rejected_reward, margin, loss"
    label = raw.get("label")
    if label is not None and not isinstance(label, bool):
        return None, 'pair: label, when present, is true or false (mode "kto")'
    record = {k: raw[k] for k in ("step", "split", "line", *nums)}
    return ({**record, "label": label} if label is not None else record), None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def loads(line: str) -> Any:
    """JSON as JavaScript reads it: NaN and Infinity literals are errors (Python's json accepts them)."""
    return json.loads(line, parse_constant=_no_constant)


def parse_lines(text: str, kind: str) -> tuple[list[dict], list[dict]]:
    """(records, problems) of a whole metrics.jsonl ("metrics") or pairs.jsonl ("pairs") text. Problems
    are {line (1-based), error}; the text after the last newline is a torn line when it is not JSON."""
    guard = parse_run_record if kind == "metrics" else parse_pair_record
    records: list[dict] = []
    problems: list[dict] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        torn = i == len(lines) - 1
        try:
            raw = loads(line)
        except (ValueError, RecursionError) as e:
            if not torn:
                problems.append({"line": i + 1, "error": f"not JSON: {e}"})
            continue
        rec, err = guard(raw)
        if rec is not None:
            records.append(rec)
        else:
            problems.append({"line": i + 1, "error": err})
    return records, problems


def read_records(path: str, kind: str) -> tuple[list[dict], list[dict]]:
    """parse_lines of a file (absent: no records); bad UTF-8 reads as U+FFFD, as Node reads it."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_lines(f.read(), kind)
    except FileNotFoundError:
        return [], []
