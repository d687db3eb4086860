"""Shared helpers for the reference tests: the embedded engine is driven through
test/reference/engine-bridge.js (compiled engine in out/, so run `npx tsc -p .` first), and the
reference numbers come from transformers / tokenizers / TRL themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[3]
BRIDGE = REPO / "test" / "reference" / "engine-bridge.js"
sys.path.insert(0, str(REPO / "python" / "fixtures"))

sys.dont_write_bytecode = True  # no __pycache__ left in the work tree
torch.set_num_threads(1)


def engine(requests: list[dict]) -> list[dict]:
    """Runs requests through the embedded engine in one node process; returns its answers."""
    if not (REPO / "out" / "src" / "engine").is_dir():
        raise RuntimeError("the engine is not compiled: run `npx tsc -p .` first")
    proc = subprocess.run(["node", str(BRIDGE)], input=json.dumps(requests), capture_output=True, text=True, cwd=REPO, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"engine bridge failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def engine_one(request: dict) -> dict:
    answer = engine([request])[0]
    assert answer["ok"], answer.get("error")
    return answer


def dpo_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`node bin/dpo.js ARGS` in the repository; raises with its output when it fails."""
    proc = subprocess.run(["node", str(REPO / "bin" / "dpo.js"), *args], capture_output=True, text=True, cwd=REPO, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"dpo {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def hf_token_logps(model, rows: list[list[int]]) -> list[list[float]]:
    """transformers' per-token log-probs: entry t of a row is log p(row[t+1] | row[..t])."""
    out = []
    with torch.no_grad():
        for row in rows:
            ids = torch.tensor([row])
            logits = model(input_ids=ids).logits.float()[0, :-1]
            out.append(torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None])[:, 0].tolist())
    return out


def rel_err(ours: float, ref: float) -> float:
    return abs(ours - ref) / max(abs(ref), 1e-12)


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reference")
