"""Shared fixtures: the project's tiny models (made by `dpo make-tiny-model`, the same the tfjs tests
use), small preference files, and a way to run the `dpo` CLI. Everything lives in temp folders."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DPO = [os.environ.get("NODE", "node"), os.path.join(ROOT, "bin", "dpo.js")]
EXAMPLES = os.path.join(ROOT, "examples", "preferences.jsonl")


def dpo(*args, check=True, timeout=300):
    env = {**os.environ, "DPO_TORCH_ENV": os.path.dirname(os.path.dirname(sys.executable))}
    r = subprocess.run([*DPO, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"dpo {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    dpo("make-tiny-model", "--out", d / "gpt2", "--max-positions", 128)
    dpo("make-tiny-model", "--out", d / "llama", "--family", "llama", "--heads", 4, "--kv-heads", 2, "--max-positions", 128)
    return {"gpt2": str(d / "gpt2"), "llama": str(d / "llama")}


def write_pairs(path, n: int, start: int = 0) -> str:
    with open(EXAMPLES, encoding="utf-8") as f:
        lines = f.readlines()[start : start + n]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return str(path)


def read_jsonl(path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
