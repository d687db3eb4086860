"""The language-neutral cases of test/conformance/<rule>/*.json, run on the torch engine's modules; the
TypeScript tests in test/unit/conformance run the same files on the embedded engine's, so a drift
between the engines fails one side. No case is copied here: only how to feed it and read the result."""

import json
import math
import os

import pytest

from dpo_studio.protocol import parse_request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def cases(rule: str) -> list:
    d = os.path.join(ROOT, "test", "conformance", rule)
    out = []
    for f in sorted(os.listdir(d)):
        if f.endswith(".json"):
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                doc = json.load(fh)
            assert doc["cases"], f"{d}/{f}: no cases"
            out += [pytest.param(c, id=f"{f}:{c['name']}") for c in doc["cases"]]
    assert out, f"{d}: no case files"
    return out


def line_of(c: dict) -> bytes:
    if "line" in c:
        return c["line"].encode("utf-8")
    return b"".join(p.encode("utf-8") * n if isinstance(p, str) else bytes.fromhex(p["hex"]) * n for p, n in c["line_parts"])


@pytest.mark.parametrize("case", cases("protocol"))
def test_protocol(case):
    req, err = parse_request(line_of(case))  # an exception fails the case: never an exit
    want = case["expect"]
    if "request" in want:
        assert err is None, f"expected a request, got {err}"
        assert req is not None
        assert req["type"] == want["request"]["type"]
        assert req["id"] == want["request"]["id"] and isinstance(req["id"], int)
        if "params" in want["request"]:
            assert req["params"] == want["request"]["params"]
    else:
        assert req is None and err is not None, "expected an error reply"
        message, id_ = err
        assert want["error"]["contains"] in message, message[:300]
        assert id_ == want["error"]["id"]


def _finite(x: float) -> bool:
    return math.isfinite(x)
