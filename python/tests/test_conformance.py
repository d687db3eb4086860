"""The language-neutral cases of test/conformance/<rule>/*.json, run on the torch engine's modules; the
TypeScript tests in test/unit/conformance run the same files on the embedded engine's, so a drift
between the engines fails one side. No case is copied here: only how to feed it and read the result."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from dpo_studio import run_folder as run_folder_module
from dpo_studio.data import split_eval
from dpo_studio.health import HealthMonitor
from dpo_studio.protocol import parse_request
from dpo_studio.rng import Rng, held_out_indices
from dpo_studio.run_folder import TRAINER_STATE, RunFolder, decide_start
from dpo_studio.run_lock import LOCK_FILE, RunLockError, acquire_run_lock
from dpo_studio.run_records import parse_lines, parse_run_record
from dpo_studio.schemas import ConfigError, resolve_config

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


@pytest.mark.parametrize("case", cases("records"))
def test_records(case):
    records, problems = parse_lines(case["text"], case["file"])
    want = case["expect"]
    assert records == want["records"]
    assert [p["line"] for p in problems] == [p["line"] for p in want["problems"]]
    for got, exp in zip(problems, want["problems"], strict=True):
        assert exp["contains"] in got["error"], got


def build_layout(case: dict, base) -> str:
    d = os.path.join(str(base), "run")
    if case.get("missing"):
        return d
    if case.get("is_file"):
        with open(d, "w") as f:
            f.write("not a folder")
        return d
    os.makedirs(d)
    for e in case["layout"]:
        p = os.path.join(d, e["path"])
        if e.get("dir"):
            os.makedirs(p, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as f:
                f.write(e.get("text", ""))
    return d


@pytest.mark.parametrize("case", cases("resume"))
def test_resume(case, tmp_path):
    d = build_layout(case, tmp_path)
    got = decide_start(d, case["resume"])
    want = case["expect"]
    assert got["action"] == want["action"], got
    if got["action"] == "resume":
        assert got["step"] == want["step"]
        assert os.path.relpath(got["dir"], d) == want["dir"]
        RunFolder(d).truncate_after(got["step"])
    if got["action"] == "restart":
        RunFolder(d).truncate_after(-1)
    if got["action"] == "refuse":
        assert got["code"] == want["code"]
    for part in want.get("contains", []):
        assert part.replace("{dir}", d) in got["message"], got["message"]
    for name, text in case.get("after", {}).items():
        with open(os.path.join(d, name), encoding="utf-8") as f:
            assert f.read() == text, name


@pytest.mark.parametrize("case", cases("health"))
def test_health(case):
    s = case["settings"]
    h = HealthMonitor(
        s["stuck_steps"],
        s["falling_window"],
        s["loss_type"],
        has_eval=s["has_eval"],
        learning_rate=s["learning_rate"],
        beta=s["beta"],
        sft_weight=s["sft_weight"],
        engine=s["engine"],
        loss_weights=s.get("loss_weights"),
    )
    out = []
    for raw in case["stream"]:
        rec, err = parse_run_record(raw)
        assert rec is not None, err
        out += h.observe_eval(rec) if rec["split"] == "eval" else h.observe(rec)
    assert out == case["expect"]


@pytest.fixture(scope="module")
def lock_vars():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return {"$DEAD_PID": int(dead.stdout), "$LIVE_PID": os.getppid(), "$OWN_PID": os.getpid(), "$HOST": socket.gethostname()}


@pytest.mark.parametrize("case", cases("run-lock"))
def test_run_lock(case, tmp_path, lock_vars):
    d, lock = str(tmp_path), case["lock"]
    path = os.path.join(d, LOCK_FILE)
    if lock and "json" in lock:
        with open(path, "w") as f:
            f.write(json.dumps({k: lock_vars.get(v, v) if isinstance(v, str) else v for k, v in lock["json"].items()}) + "\n")
    if lock and "text" in lock:
        with open(path, "w", encoding="utf-8") as f:
            f.write(lock["text"])
    before = open(path, "rb").read() if os.path.exists(path) else None
    if case["expect"]["outcome"] == "acquired":
        release = acquire_run_lock(d)
        with open(path) as f:
            held = json.load(f)
        assert (held["pid"], held["host"]) == (os.getpid(), socket.gethostname())
        release()
        assert not os.path.exists(path), "released"
    else:
        with pytest.raises(RunLockError) as e:
            acquire_run_lock(d)
        for part in case["expect"]["contains"]:
            for k, v in lock_vars.items():
                part = part.replace(k, str(v))
            assert part.replace("{dir}", d).replace("{file}", path) in str(e.value)
        assert open(path, "rb").read() == before, "a refused lock is left as it was"
    assert [f for f in os.listdir(d) if f != LOCK_FILE] == [], "no temp or stale files left"


@pytest.mark.parametrize("case", [c for c in cases("pair-values") if "torch" in c.values[0]["engines"]])
def test_pair_values(case):
    import torch

    from dpo_studio.loss_terms import loss_terms
    from dpo_studio.pairs import pair_rows_from_logps

    ps = case["pairs"]
    col = lambda k: torch.tensor([p[k] for p in ps], dtype=torch.float64)
    logps = {k: col(k) for k in ("policy_chosen", "policy_rejected", "reference_chosen", "reference_rejected")}
    terms = loss_terms({"loss_type": case["loss_type"], "loss_weights": case.get("loss_weights")})
    run = lambda: pair_rows_from_logps(terms, case["beta"], [p["line"] for p in ps], logps, col("chosen_len"), col("rejected_len"))
    if "expect_error" in case:
        with pytest.raises(ValueError, match=re.escape(case["expect_error"])):
            run()
        return
    rows = [{"step": case["step"], "split": case["split"], **r} for r in run()]
    assert len(rows) == len(case["expect"])
    for got, want in zip(rows, case["expect"], strict=True):
        assert (got["step"], got["split"], got["line"]) == (want["step"], want["split"], want["line"])
        for k in ("chosen_reward", "rejected_reward", "margin", "loss"):
            assert abs(got[k] - want[k]) <= 1e-5 + 1e-5 * abs(want[k]), (k, got[k], want[k])


@pytest.mark.parametrize("case", cases("config"))
def test_config(case):
    partial = case["partial"] if "partial" in case else json.loads(case["partial_json"])
    try:
        resolve_config(partial, "case")
        problems = []
    except ConfigError as e:
        problems = e.problems
    want = case["expect"]["torch"]
    assert sorted({f for f, _ in problems}) == sorted({w["field"] for w in want}), problems
    for w in want:
        assert any(f == w["field"] and w["contains"] in m for f, m in problems), (w, problems)


@pytest.mark.parametrize("case", cases("prune"))
def test_prune(case, tmp_path, monkeypatch):
    folder = RunFolder(str(tmp_path / "run"))
    for s in case["existing"]:
        d = os.path.join(folder.checkpoints_dir, f"step-{s}")
        os.makedirs(d)
        for name in ("weights", TRAINER_STATE):
            with open(os.path.join(d, name), "w") as f:
                f.write(str(s))
    for s in case.get("partial", []):
        os.makedirs(os.path.join(folder.checkpoints_dir, f"step-{s}"))
    hf = os.path.join(folder.staging, f"checkpoint-{case['write']}")
    os.makedirs(hf)
    with open(os.path.join(hf, TRAINER_STATE), "w") as f:
        f.write("{}")
    removed = []
    real = run_folder_module.shutil.rmtree
    monkeypatch.setattr(run_folder_module.shutil, "rmtree", lambda p, *a, **k: (removed.append(p), real(p, *a, **k)))
    folder.adopt_checkpoint(hf, case["write"], case["keep"])
    assert [s for s, _ in folder.checkpoints()] == case["expect_steps"]
    for s in case.get("expect_partial_left", []):
        assert os.path.isdir(os.path.join(folder.checkpoints_dir, f"step-{s}"))
    # Every recursive delete is of a folder renamed away first, never of a step-N in place.
    assert not [p for p in removed if re.match(r"^step-\d+$", os.path.basename(p))], removed


def test_appends_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    folder = RunFolder(str(tmp_path / "run"))
    folder.append("metrics.jsonl", [{"kind": "warning", "step": 1, "code": "data", "message": "m"}])
    folder.append(
        "pairs.jsonl", [{"step": 1, "split": "train", "line": 1, "chosen_reward": 0, "rejected_reward": 0, "margin": 0, "loss": 0.69}]
    )
    folder.log("a line")
    assert len(synced) == 3


@pytest.mark.parametrize("case", cases("eval-split"))
def test_eval_split(case):
    assert held_out_indices(case["n"], case["fraction"], case["seed"]) == case["expect_held_out"]
    rows = [{"line": i + 1} for i in range(case["n"])]
    train, held = split_eval(rows, case["fraction"], case["seed"])
    assert [r["line"] - 1 for r in held] == case["expect_held_out"]
    assert len(train) + len(held) == case["n"]


def test_eval_split_generator():
    d = os.path.join(ROOT, "test", "conformance", "eval-split")
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            rng = json.load(fh)["rng"]
        r = Rng(rng["seed"])
        assert [r.next_uint32() for _ in rng["expect_first_uint32"]] == rng["expect_first_uint32"]
