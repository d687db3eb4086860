"""JSON lines on stdio, as src/protocol/messages.ts defines them: requests in, replies and events out.
Nothing else may reach stdout (the engine redirects prints to stderr)."""

import json
import sys
import threading

from . import schemas

PROTOCOL_VERSION = schemas.protocol()["protocolVersion"]


class Channel:
    """Writes protocol lines; thread-safe (training and generation run in worker threads)."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.lock = threading.Lock()

    def write(self, obj: dict) -> None:
        line = json.dumps(obj, allow_nan=False, ensure_ascii=False) + "\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()

    def event(self, type_: str, params: dict) -> None:
        self.write({"kind": "event", "type": type_, "params": params})

    def reply(self, id_: int, result) -> None:
        self.write({"kind": "reply", "id": id_, "ok": True, "result": result})

    def error(self, id_: int, message: str) -> None:
        self.write({"kind": "reply", "id": id_, "ok": False, "error": message})


def parse_request(line: str):
    """(request, None) or (None, (error, id or None)), with parseRequest's rules and messages."""
    try:
        m = json.loads(line)
    except ValueError as e:
        return None, (f"not JSON: {e}", None)
    if not isinstance(m, dict):
        return None, ("a message must be a JSON object", None)
    id_ = m.get("id") if isinstance(m.get("id"), (int, float)) and not isinstance(m.get("id"), bool) else None
    if m.get("kind") != "request":
        return None, (f'kind must be "request", got {json.dumps(m.get("kind"))}', id_)
    if id_ is None or int(id_) != id_:
        return None, ("id must be an integer", None)
    id_ = int(id_)
    if not isinstance(m.get("type"), str) or m["type"] not in schemas.protocol()["requests"]:
        return None, (f"unknown request type {json.dumps(m.get('type'))}", id_)
    m.setdefault("params", {})
    problem = schemas.request_problem(m)
    if problem:
        return None, (problem, id_)
    m["id"] = id_
    return m, None
