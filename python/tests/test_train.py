"""Runs on the torch engine write the run folder of the contract: kind-tagged metrics with TRL's names,
pairs.jsonl whose lines and rewards are the data's and TRL's, complete checkpoints, final/ in HF
layout; a stopped run resumes to the same numbers as an uninterrupted one; SFT and LoRA runs."""

import json
import math
import os
from pathlib import Path

import jsonschema
import pytest
from conftest import read_jsonl, write_pairs

from dpo_studio.schemas import resolve_config
from dpo_studio.train import Run

TRAIN_KEYS = {
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
    "grad_norm",
    "learning_rate",
    "tokens_per_second",
    "elapsed_seconds",
}


def config(models, tmp_path, name, **over):
    data = write_pairs(tmp_path / "pairs.jsonl", 24)
    return resolve_config(
        {
            "engine": "torch",
            "model": models["gpt2"],
            "data": data,
            "output_dir": str(tmp_path / name),
            "max_steps": 4,
            "batch_size": 2,
            "eval_fraction": 0.25,
            "eval_steps": 2,
            "save_steps": 2,
            "learning_rate": 1e-3,
            "lr_scheduler_type": "constant",
            "warmup_ratio": 0,
            "max_length": 96,
            **over,
        }
    )


class Recorder:
    def __init__(self):
        self.events = []

    def __getattr__(self, name):
        return lambda *a: self.events.append((name, a))


def test_dpo_run_writes_the_contract(models, tmp_path):
    c = config(models, tmp_path, "run")
    sink = Recorder()
    r = Run(c, sink).run()
    assert r["reason"] == "completed" and r["step"] == 4 and r["totalSteps"] == 4
    run = tmp_path / "run"
    recs = read_jsonl(run / "metrics.jsonl")
    assert all(rec["kind"] in ("metrics", "status", "warning") for rec in recs)
    status = [x for x in recs if x["kind"] == "status"]
    assert (
        [s["status"] for s in status] == ["running", "completed"]
        and status[-1]["engine"] == "torch"
        and status[-1]["device"].startswith("cpu")
    )
    train = [x for x in recs if x["kind"] == "metrics" and x["split"] == "train"]
    evals = [x for x in recs if x["kind"] == "metrics" and x["split"] == "eval"]
    assert [x["step"] for x in train] == [1, 2, 3, 4]
    assert all(TRAIN_KEYS <= set(x) for x in train)
    assert [x["step"] for x in evals] == [0, 2, 4] and all("eval_loss" in x and "eval_rewards/margins" in x for x in evals)
    assert evals[-1]["eval_loss"] < evals[0]["eval_loss"], "lr 1e-3 for 4 steps moves the held-out loss"
    # Every line is a record of the contract's generated schema (the one the embedded engine writes).
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "run-records.schema.json").read_text())
    for rec in recs:
        jsonschema.validate(rec, schema)
    for p in read_jsonl(run / "pairs.jsonl"):
        jsonschema.validate(p, {"definitions": schema["definitions"], "$ref": "#/definitions/pair"})
    # pairs.jsonl: the data's lines; per step, the mean of the rewards is TRL's logged mean.
    pairs = read_jsonl(run / "pairs.jsonl")
    lines = {int(x) for x in range(1, 25)}
    for rec in train + evals:
        rows = [p for p in pairs if p["step"] == rec["step"] and p["split"] == rec["split"]]
        prefix = "" if rec["split"] == "train" else "eval_"
        assert rows and {p["line"] for p in rows} <= lines
        assert math.isclose(sum(p["chosen_reward"] for p in rows) / len(rows), rec[f"{prefix}rewards/chosen"], rel_tol=1e-4, abs_tol=1e-6)
        assert math.isclose(sum(p["margin"] for p in rows) / len(rows), rec[f"{prefix}rewards/margins"], rel_tol=1e-4, abs_tol=1e-6)
        assert math.isclose(sum(p["loss"] for p in rows) / len(rows), rec[f"{prefix}loss"], rel_tol=1e-4)
    assert len([p for p in pairs if p["split"] == "eval" and p["step"] == 0]) == 6
    # checkpoints complete, moved in by rename; final/ loads in transformers
    assert sorted(os.listdir(run / "checkpoints")) == ["step-2", "step-4"]
    assert all((run / "checkpoints" / d / "trainer_state.json").exists() for d in ("step-2", "step-4"))
    assert not (run / ".hf-staging").exists() or not os.listdir(run / ".hf-staging")
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(run / "final").config.model_type == "gpt2"
    names = {e[0] for e in sink.events}
    assert {"progress", "metrics", "checkpoint", "log"} <= names
    with pytest.raises(RuntimeError, match="already holds a run"):
        Run(c, Recorder()).run()


def test_stop_then_resume_matches_an_uninterrupted_run(models, tmp_path):
    whole = Run(config(models, tmp_path, "whole"), Recorder()).run()
    assert whole["reason"] == "completed"
    c = config(models, tmp_path, "parts")
    r = Run(c, Recorder(), should_stop=lambda: True).run()  # stop after the first step
    assert r["reason"] == "stopped" and r["step"] == 1
    assert (tmp_path / "parts" / "checkpoints" / "step-1" / "trainer_state.json").exists()
    r = Run(c, Recorder(), resume=True).run()
    assert r["reason"] == "completed" and r["step"] == 4
    a = [x for x in read_jsonl(tmp_path / "whole" / "metrics.jsonl") if x["kind"] == "metrics" and x["split"] == "train"]
    b = [x for x in read_jsonl(tmp_path / "parts" / "metrics.jsonl") if x["kind"] == "metrics" and x["split"] == "train"]
    assert [x["step"] for x in b] == [1, 2, 3, 4]
    for x, y in zip(a, b, strict=True):
        assert math.isclose(x["loss"], y["loss"], rel_tol=1e-4), (x["step"], x["loss"], y["loss"])
        assert math.isclose(x["rewards/margins"], y["rewards/margins"], rel_tol=1e-3, abs_tol=1e-6)
    statuses = [x["status"] for x in read_jsonl(tmp_path / "parts" / "metrics.jsonl") if x["kind"] == "status"]
    assert statuses == ["running", "stopped", "running", "completed"]


def test_sft_run_trains_on_chosen(models, tmp_path):
    c = config(models, tmp_path, "sft", mode="sft", eval_fraction=0)
    r = Run(c, Recorder()).run()
    assert r["reason"] == "completed"
    train = [x for x in read_jsonl(tmp_path / "sft" / "metrics.jsonl") if x.get("split") == "train"]
    assert len(train) == 4 and train[-1]["loss"] < train[0]["loss"]


def test_lora_run_adapter_and_merged_model_load(models, tmp_path):
    c = config(models, tmp_path, "lora", lora_r=4, lora_target_modules=["c_attn"], merge_lora=True, max_steps=2, eval_fraction=0)
    Run(c, Recorder()).run()
    final = tmp_path / "lora" / "final"
    assert (final / "adapter_config.json").exists()
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    peft_model = AutoPeftModelForCausalLM.from_pretrained(final)
    merged = AutoModelForCausalLM.from_pretrained(final / "merged")
    import torch

    x = torch.tensor([[1, 2, 3, 4]])
    assert torch.allclose(peft_model(input_ids=x).logits, merged(input_ids=x).logits, atol=1e-5)


def test_kill_9_mid_run_leaves_only_complete_checkpoints_and_resumes(models, tmp_path):
    import json
    import signal
    import subprocess
    import sys

    from conftest import ROOT, dpo

    c = config(models, tmp_path, "killed", max_steps=6, save_steps=1, eval_fraction=0)
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")}
    p = subprocess.Popen(
        [sys.executable, "-m", "dpo_studio.engine"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    p.stdin.write(json.dumps({"kind": "request", "id": 1, "type": "run/start", "params": {"mode": "dpo", "config": c}}) + "\n")
    p.stdin.flush()
    for line in p.stdout:
        m = json.loads(line)
        if m.get("type") == "run/didCheckpoint" and m["params"]["step"] == 2:
            break
    p.send_signal(signal.SIGKILL)  # while step 3 runs or checkpoint 3 is being written
    p.wait()
    run = tmp_path / "killed"
    for d in os.listdir(run / "checkpoints"):
        assert (run / "checkpoints" / d / "trainer_state.json").exists(), f"{d} is incomplete"
    r = dpo("train", "--resume", run)
    assert "done: 6 steps" in r.stderr
    steps = [x["step"] for x in read_jsonl(run / "metrics.jsonl") if x.get("split") == "train"]
    assert steps == [1, 2, 3, 4, 5, 6], "records after the checkpoint were dropped and logged again, once"
    assert read_jsonl(run / "metrics.jsonl")[-1]["status"] == "completed"
