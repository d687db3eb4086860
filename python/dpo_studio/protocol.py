"""JSON lines on stdio, as src/protocol/messages.ts defines them: requests in, replies and events out.
Nothing else may reach stdout (the engine redirects prints to stderr)."""

import json
import math
import sys
import threading
from typing import Any, Protocol

from . import schemas

PROTOCOL_VERSION = schemas.protocol()["protocolVersion"]


class LineSink(Protocol):
    """Where protocol lines go: the real stdout, or the engine's HostStream that outlives the host."""

    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


class Channel:
    """Writes protocol lines; thread-safe (training and generation run in worker threads)."""

    def __init__(self, out: LineSink | None = None):
        self.out = out or sys.stdout
        self.lock = threading.Lock()

    def write(self, obj: dict) -> None:
        line = json.dumps(obj, allow_nan=False, ensure_ascii=False) + "\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()

    def event(self, type_: str, params: dict) -> None:
        self.write({"kind": "event", "type": type_, "params": params})

    def reply(self, id_: int, result: Any) -> None:
        self.write({"kind": "reply", "id": id_, "ok": True, "result": result})

    def error(self, id_: int, message: str) -> None:
        self.write({"kind": "reply", "id": id_, "ok": False, "error": message})


# Deeper than this a message is refused (json's own reader overflows the stack near 1,000); the same
# bound as MAX_MESSAGE_DEPTH in src/protocol/messages.ts.
MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53 - 1
_TOO_DEEP = f"nested more than {MAX_DEPTH} deep: not a message of this protocol"


def _no_constant(name: str) -> float:
    # NaN, Infinity and -Infinity are Python's extensions; JSON (and the TypeScript side) has none.
    raise ValueError(f"{name} is not JSON")


def _read_int(text: str) -> int | float:
    # A JavaScript reader turns an integer of more than 308 digits into Infinity; so does this one
    # (instead of int()'s 4,300-digit limit error), and the overflow check below names it.
    return int(text) if len(text) <= 308 else float(text)


def _nested_deeper(v: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(v, 1)]
    while stack:
        x, d = stack.pop()
        if not isinstance(x, (dict, list)):
            continue
        if d > limit:
            return True
        stack.extend((c, d + 1) for c in (x.values() if isinstance(x, dict) else x))
    return False


def _non_finite_path(v: object, at: str) -> str | None:
    if isinstance(v, float):
        return None if math.isfinite(v) else at
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
    for k, c in items:
        found = _non_finite_path(c, f"{at}[{k}]" if isinstance(v, list) else f"{at}.{k}" if at else str(k))
        if found:
            return found
    return None


def _safe_id(v: object) -> int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or int(v) != v:
        return None
    return int(v) if abs(v) <= MAX_SAFE_INTEGER else None


def parse_request(line: str | bytes) -> tuple[Any, tuple[str, int | None] | None]:
    """(request, None) or (None, (error, id or None)), by the rules of parseRequest in
    src/protocol/messages.ts (test/conformance/protocol holds the cases both pass). Never raises."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")  # as Node's StringDecoder reads stdin
    try:
        m = json.loads(line, parse_constant=_no_constant, parse_int=_read_int)
    except RecursionError:
        return None, (_TOO_DEEP, None)
    except ValueError as e:
        return None, (f"not JSON: {e}", None)
    if not isinstance(m, dict):
        return None, ("a message must be a JSON object", None)
    if _nested_deeper(m, MAX_DEPTH):
        return None, (_TOO_DEEP, None)
    id_ = _safe_id(m.get("id"))
    if m.get("kind") != "request":
        return None, (f'kind must be "request", got {_js(m, "kind")}', id_)
    if id_ is None:
        return None, ("id must be an integer (at most 2^53 - 1 in size)", None)
    if not isinstance(m.get("type"), str) or m["type"] not in schemas.protocol()["requests"]:
        return None, (f"unknown request type {_js(m, 'type')}", id_)
    overflow = _non_finite_path(m, "")
    if overflow:
        return None, (f"{overflow} is out of range (a number beyond ±1.8e308, such as 1e400)", id_)
    if m.get("params") is None:
        m["params"] = {}
    problem = schemas.request_problem(m)
    if problem:
        return None, (problem, id_)
    return {"kind": "request", "id": id_, "type": m["type"], "params": m["params"]}, None


def _js(m: dict, key: str) -> str:
    """JSON.stringify's text of m[key] ("undefined" when missing), as the TypeScript messages show it."""
    return json.dumps(m[key], ensure_ascii=False, separators=(",", ":")) if key in m else "undefined"
