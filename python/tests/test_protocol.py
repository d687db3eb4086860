"""The engine process over stdio: handshake, bad lines rejected (never a crash), every line it writes a
protocol message the checked-in schema accepts, clean exit when stdin closes."""

import json
import os
import subprocess
import sys

import jsonschema

from dpo_studio import schemas

ENV = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..")}


def talk(lines, timeout=120):
    p = subprocess.run(
        [sys.executable, "-m", "dpo_studio.engine"],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )
    out = [json.loads(line) for line in p.stdout.splitlines()]
    return p.returncode, out


def check_messages(msgs):
    proto = schemas.protocol()
    for m in msgs:
        if m["kind"] == "event":
            jsonschema.validate(m, proto["definitions"]["event"])
            jsonschema.validate(m["params"], proto["events"][m["type"]])
        else:
            jsonschema.validate(m, proto["definitions"]["reply"])


def test_handshake_then_bad_lines_each_rejected_and_exit_zero():
    code, msgs = talk(
        [
            "not json",
            "[1,2]",
            json.dumps({"kind": "reply", "id": 1}),
            json.dumps({"kind": "request", "id": 1.5, "type": "run/stop"}),
            json.dumps({"kind": "request", "id": 2, "type": "run/explode", "params": {}}),
            json.dumps({"kind": "request", "id": 3, "type": "run/start", "params": {"mode": "ppo", "config": {}}}),
            json.dumps(
                {"kind": "request", "id": 4, "type": "probe/score", "params": {"prompt": "a", "chat": False, "response": "b", "beta": "x"}}
            ),
            json.dumps(
                {
                    "kind": "request",
                    "id": 5,
                    "type": "run/start",
                    "params": {"mode": "dpo", "config": {"model": "/m", "data": "/d", "output_dir": "/o", "reference_free": True}},
                }
            ),
            json.dumps({"kind": "request", "id": 6, "type": "run/stop"}),
        ]
    )
    assert code == 0
    check_messages(msgs)
    hello = msgs[0]
    assert hello["type"] == "engine/didStart"
    assert hello["params"]["engine"] == "torch" and hello["params"]["device"] == "cpu"
    assert hello["params"]["protocolVersion"] == schemas.protocol()["protocolVersion"]
    rejects = [m["params"]["message"] for m in msgs if m.get("type") == "engine/didReject"]
    assert len(rejects) == 7
    assert rejects[0].startswith("not JSON")
    assert rejects[1] == "a message must be a JSON object"
    assert rejects[2] == 'kind must be "request", got "reply"'
    assert rejects[3].startswith("id must be an integer")
    assert rejects[4] == 'unknown request type "run/explode"'
    assert "params.mode" in rejects[5] and "ppo" in rejects[5]
    assert "params.beta" in rejects[6]
    replies = {m["id"]: m for m in msgs if m["kind"] == "reply"}
    assert not replies[5]["ok"] and "reference_free: the torch engine does not honour it" in replies[5]["error"]
    assert replies[6] == {"kind": "reply", "id": 6, "ok": True, "result": {"stopping": False}}
    assert not replies[2]["ok"] and not replies[3]["ok"]


def test_probe_load_generate_score(models):
    code, msgs = talk(
        [
            json.dumps(
                {"kind": "request", "id": 1, "type": "probe/score", "params": {"prompt": "a", "chat": False, "response": "b", "beta": 0.1}}
            ),
            json.dumps(
                {"kind": "request", "id": 2, "type": "probe/load", "params": {"policyDir": models["gpt2"], "referenceDir": models["gpt2"]}}
            ),
            json.dumps(
                {
                    "kind": "request",
                    "id": 3,
                    "type": "probe/score",
                    "params": {"prompt": "Hi", "chat": False, "response": " there", "beta": 0.1},
                }
            ),
            json.dumps(
                {
                    "kind": "request",
                    "id": 4,
                    "type": "probe/generate",
                    "params": {"which": "policy", "prompt": "Hi", "chat": True, "sampling": {"maxNewTokens": 4}},
                }
            ),
        ]
    )
    check_messages(msgs)
    replies = {m["id"]: m for m in msgs if m["kind"] == "reply"}
    assert "send probe/load first" in replies[1]["error"]
    assert replies[2]["result"]["architecture"] == "GPT2LMHeadModel" and replies[2]["result"]["hasReference"]
    s = replies[3]["result"]
    assert "".join(t["text"] for t in s["tokens"]) == " there"
    assert abs(s["policyLogp"] - sum(t["policyLogp"] for t in s["tokens"])) < 1e-4 and s["reward"] == 0  # same model: zero reward
    tokens = [m["params"] for m in msgs if m.get("type") == "probe/didToken"]
    assert len(tokens) == 4 and all(t["requestId"] == 4 and t["logprob"] <= 0 for t in tokens)
    assert replies[4]["result"]["tokens"] == 4 and replies[4]["result"]["reason"] == "length"
    assert replies[4]["result"]["text"] == "".join(t["text"] for t in tokens)


def test_sigterm_during_a_run_finishes_the_step_checkpoints_and_exits_zero(models, tmp_path):
    import signal

    from conftest import write_pairs

    data = write_pairs(tmp_path / "pairs.jsonl", 40)
    p = subprocess.Popen(
        [sys.executable, "-m", "dpo_studio.engine"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    config = {
        "model": models["gpt2"],
        "data": data,
        "output_dir": str(tmp_path / "run"),
        "max_steps": 200,
        "batch_size": 2,
        "eval_fraction": 0,
        "max_length": 96,
    }
    p.stdin.write(json.dumps({"kind": "request", "id": 1, "type": "run/start", "params": {"mode": "dpo", "config": config}}) + "\n")
    p.stdin.flush()
    msgs = []
    for line in p.stdout:
        msgs.append(json.loads(line))
        m = msgs[-1]
        if m.get("type") == "run/didProgress" and m["params"]["phase"] == "training" and m["params"]["done"] == 2:
            p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=120) == 0
    check_messages(msgs)
    finish = next(m["params"] for m in msgs if m.get("type") == "run/didFinish")
    assert finish["reason"] == "stopped" and 2 <= finish["step"] < 200
    assert (tmp_path / "run" / "checkpoints" / f"step-{finish['step']}" / "trainer_state.json").exists()
    assert any(m.get("type") == "run/didCheckpoint" for m in msgs)


def test_hostile_lines_are_each_rejected_and_the_engine_keeps_answering():
    """The lines that once ended the engine (OverflowError, RecursionError, UnicodeDecodeError); the
    rules themselves are test/conformance/protocol's, shared with the embedded engine."""
    hostile = [
        b'{"kind":"request","id":1e400,"type":"run/stop","params":{}}',
        b'{"kind":"request","id":NaN,"type":"run/stop","params":{}}',
        b'{"kind":"request","id":Infinity,"type":"run/stop","params":{}}',
        b'{"kind":"request","id":3,"type":"probe/score","params":{"prompt":"a","chat":false,"response":"b","beta":1e400}}',
        b'{"kind":"request","id":4,"type":"run/stop","params":{"x":' + b"[" * 10000 + b"]" * 10000 + b"}}",
        b'{"kind":"request","id":5,"type":"run/resume","params":{"runDir":"/r\xff\xfe"}}',
        b"\xff\xfe\x00garbage",
        b'{"kind":"request","id":6,"type":"run/stop","params":{}}',
    ]
    p = subprocess.run(
        [sys.executable, "-m", "dpo_studio.engine"],
        input=b"".join(line + b"\n" for line in hostile),
        capture_output=True,
        timeout=120,
        env=ENV,
    )
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    msgs = [json.loads(line) for line in p.stdout.decode().splitlines()]
    check_messages(msgs)
    rejects = [m["params"]["message"] for m in msgs if m.get("type") == "engine/didReject"]
    assert rejects[0].startswith("id must be an integer") and rejects[1].startswith("not JSON") and rejects[2].startswith("not JSON")
    assert "params.beta is out of range" in rejects[3]
    assert rejects[4].startswith("nested more than 64 deep")
    replies = {m["id"]: m for m in msgs if m["kind"] == "reply"}
    assert not replies[3]["ok"] and replies[6] == {"kind": "reply", "id": 6, "ok": True, "result": {"stopping": False}}
    assert not replies[5]["ok"] and "/r\ufffd\ufffd" in replies[5]["error"], (
        "a non-UTF-8 path is read (U+FFFD), then refused as a run folder"
    )


def test_probe_generate_renders_messages_with_the_chat_template(models):
    from transformers import AutoTokenizer

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]

    def gen(id_: int, msgs: list) -> str:
        params = {"which": "policy", "prompt": "", "chat": True, "sampling": {"maxNewTokens": 2}, "messages": msgs}
        return json.dumps({"kind": "request", "id": id_, "type": "probe/generate", "params": params})

    load = {"kind": "request", "id": 1, "type": "probe/load", "params": {"policyDir": models["gpt2"]}}
    code, msgs = talk([json.dumps(load), gen(2, messages), gen(3, [{"role": "tool", "content": "x"}])])
    check_messages(msgs)
    replies = {m["id"]: m for m in msgs if m["kind"] == "reply"}
    tok = AutoTokenizer.from_pretrained(models["gpt2"])
    rendered = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    assert replies[2]["ok"] and replies[2]["result"]["promptTokens"] == len(rendered)
    assert not replies[3]["ok"] and "messages" in replies[3]["error"]
