"""probe/score as `dpo eval` uses it on the torch engine: probe/generate's ids scored as they are (the
decoded text may encode to other tokens), EOS included; `messages` rendered through the chat template,
as for probe/generate; every line the engine writes still passes the checked-in schema."""

import json

from test_protocol import check_messages, talk


def req(id_: int, type_: str, params: dict) -> str:
    return json.dumps({"kind": "request", "id": id_, "type": type_, "params": params})


def test_score_takes_response_ids_and_messages(models):
    lone = [0xC3]  # not UTF-8 alone: decodes to U+FFFD, which encodes as 3 other bytes
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    score = {"prompt": "hi", "chat": False, "response": "\ufffd", "beta": 1}
    code, msgs = talk(
        [
            req(1, "probe/load", {"policyDir": models["gpt2"], "referenceDir": models["gpt2"]}),
            req(2, "probe/score", {**score, "responseIds": lone}),
            req(3, "probe/score", score),
            req(4, "probe/score", {**score, "responseIds": [*lone, 256]}),
            req(5, "probe/score", {"prompt": "hi", "chat": True, "response": "ok", "beta": 1, "messages": messages}),
            req(6, "probe/score", {"prompt": "hi", "chat": True, "response": "ok", "beta": 1}),
            req(7, "probe/score", {"prompt": "ignored", "chat": True, "response": "ok", "beta": 1, "messages": messages}),
            req(8, "probe/score", {**score, "responseIds": [100000]}),
            req(9, "probe/score", {**score, "responseIds": [-1]}),
            req(
                10,
                "probe/generate",
                {"which": "policy", "prompt": "hi", "chat": False, "sampling": {"maxNewTokens": 4, "temperature": 1, "seed": 1}},
            ),
        ]
    )
    assert code == 0
    check_messages(msgs)
    r = {m["id"]: m for m in msgs if m["kind"] == "reply"}
    assert len(r[2]["result"]["tokens"]) == 1 and len(r[3]["result"]["tokens"]) == 3
    with_eos = r[4]["result"]
    assert len(with_eos["tokens"]) == 2
    assert abs(with_eos["policyLogp"] - (r[2]["result"]["policyLogp"] + with_eos["tokens"][1]["policyLogp"])) < 1e-5
    assert r[5]["result"]["policyLogp"] != r[6]["result"]["policyLogp"]  # the system turn is in the prompt
    assert r[7]["result"]["policyLogp"] == r[5]["result"]["policyLogp"]  # with messages, prompt is not used
    assert not r[8]["ok"] and "outside the models' vocabulary of 259" in r[8]["error"]
    assert not r[9]["ok"] and "responseIds" in r[9]["error"]
    g = r[10]["result"]
    assert len(g["ids"]) == g["tokens"] and (g["reason"] != "eos" or g["ids"][-1] == 256)
