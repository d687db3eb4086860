"""The torch engine's reading loop holds: hostile lines (ids of 1e400/NaN/Infinity, arrays nested
10,000 deep, bytes that are not UTF-8) each get a rejection and the engine answers the next request;
probe/load runs aside, so run/stop is answered while a model loads; a host that goes away (stdout
closed) does not lose the run: it finishes the step, checkpoints, and the engine exits 0."""

import json
import os
import subprocess
import sys
import threading
import time

from conftest import read_jsonl, write_pairs

ENV = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..")}


def engine(stderr=subprocess.DEVNULL):
    p = subprocess.Popen([sys.executable, "-m", "dpo_studio.engine"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=ENV)
    # A deadline for every blocking read below: a hung engine is killed, its stdout ends, the test fails.
    watchdog = threading.Timer(240, p.kill)
    watchdog.daemon = True
    watchdog.start()
    return p


def send(p, line) -> None:
    p.stdin.write(line if isinstance(line, bytes) else line.encode() + b"\n")
    p.stdin.flush()


def next_reply(p, deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        line = p.stdout.readline()
        assert line, "the engine exited"
        m = json.loads(line)
        if m["kind"] == "reply":
            return m
    raise AssertionError("no reply in time")


def test_hostile_lines_are_each_rejected_and_the_engine_lives_on():
    p = engine()
    try:
        hostile = [
            b'{"kind":"request","id":1e400,"type":"run/stop"}\n',
            b'{"kind":"request","id":NaN,"type":"run/stop"}\n',
            b'{"kind":"request","id":Infinity,"type":"run/stop"}\n',
            b'{"kind":"request","id":7,"type":"run/stop","params":{"x":1e400}}\n',
            b"[" * 10000 + b"]" * 10000 + b"\n",
            b'{"kind":"request","id":8,"type":"run/stop","params":' + b"[" * 10000 + b"]" * 10000 + b"}\n",
            b'{"kind":"request","id":9,"type":"\xff\xfe"}\n',
            b"\xff\xff\xff\n",
        ]
        for i, line in enumerate(hostile):
            send(p, line)
            send(p, json.dumps({"kind": "request", "id": 100 + i, "type": "run/stop"}))
            # Whatever the hostile line got (parse_request's verdict is protocol.py's), the next request is answered.
            for _ in range(4):
                m = next_reply(p)
                if m["id"] == 100 + i:
                    break
            else:
                raise AssertionError(f"no answer after hostile line {i}")
            assert m["ok"] is True, (i, m)
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_a_line_over_the_bound_is_dropped_as_it_arrives_and_reported_with_its_size():
    import io

    from dpo_studio.engine import bounded_lines

    lines = list(bounded_lines(io.BytesIO(b"abc\n" + b"x" * 25 + b"\n" + b"y" * 10 + b"\nlast"), 10))
    # The 25-byte line is over the bound of 10: it comes out as its head (under 500 characters: all of it) and size.
    assert lines == [("abc", 3), ("x" * 25, 25), ("y" * 10, 10), ("last", 4)]
    assert list(bounded_lines(io.BytesIO(b"z" * 11), 10)) == [("z" * 11, 11)], "over the bound without a newline"


def test_a_line_over_16_mib_is_rejected_naming_its_size_and_the_engine_lives_on():
    from dpo_studio import schemas

    limit = schemas.protocol()["maxLineBytes"]
    p = engine()
    try:
        send(p, b'{"kind":"request","id":1,"type":"run/stop","params":{"pad":"' + b"x" * limit + b'"}}\n')
        send(p, json.dumps({"kind": "request", "id": 2, "type": "run/stop"}))
        events = []
        while True:
            m = json.loads(p.stdout.readline())
            if m["kind"] == "reply":
                break
            events.append(m)
        assert m["id"] == 2 and m["ok"], m
        rejects = [e["params"] for e in events if e.get("type") == "engine/didReject"]
        assert rejects and rejects[0]["message"] == f"line of {limit + 63} bytes is longer than the limit of {limit} bytes; dropped"
        assert rejects[0]["line"].startswith('{"kind":"request","id":1') and len(rejects[0]["line"]) == 500
    finally:
        p.kill()
        p.wait()


def test_run_stop_is_answered_while_a_model_loads(models):
    p = engine()
    try:
        send(
            p,
            json.dumps(
                {"kind": "request", "id": 1, "type": "probe/load", "params": {"policyDir": models["gpt2"], "referenceDir": models["gpt2"]}}
            ),
        )
        send(p, json.dumps({"kind": "request", "id": 2, "type": "run/stop"}))
        first, second = next_reply(p), next_reply(p)
        # The load imports transformers and reads two models (seconds); the stop needs none of that.
        assert first["id"] == 2 and first["ok"], first
        assert second["id"] == 1 and second["ok"] and second["result"]["hasReference"], second
    finally:
        p.kill()
        p.wait()


def test_host_gone_finishes_the_step_checkpoints_and_exits_zero(models, tmp_path):
    data = write_pairs(tmp_path / "pairs.jsonl", 40)
    config = {
        "model": models["gpt2"],
        "data": data,
        "output_dir": str(tmp_path / "run"),
        "max_steps": 200,
        "batch_size": 2,
        "eval_fraction": 0,
        "max_length": 64,
    }
    p = engine(stderr=subprocess.PIPE)
    try:
        send(p, json.dumps({"kind": "request", "id": 1, "type": "run/start", "params": {"mode": "dpo", "config": config}}))
        while True:
            line = p.stdout.readline()
            assert line, "the engine exited before its second step"
            m = json.loads(line)
            if m.get("type") == "run/didProgress" and m["params"]["phase"] == "training" and m["params"]["done"] >= 2:
                break
        p.stdout.close()  # the host went away (stdin stays open: only its reading end broke)
        p.stderr.close()
        assert p.wait(timeout=120) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    run = tmp_path / "run"
    statuses = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "status"]
    assert statuses[-1]["status"] == "stopped" and 2 <= statuses[-1]["step"] < 200, statuses[-1]
    assert (run / "checkpoints" / f"step-{statuses[-1]['step']}" / "trainer_state.json").exists()
