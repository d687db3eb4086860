"""A resumed run is the run it continues: stopped twice (or killed while writing final/) and resumed,
its metrics.jsonl and pairs.jsonl equal the uninterrupted run's, status records and wall-clock fields
aside (issue #25: each resume logged an extra evaluation, pairs.jsonl grew)."""

import json
import math
import os
import shutil

import pytest
from conftest import read_jsonl, write_pairs

from dpo_studio.schemas import resolve_config
from dpo_studio.train import NullSink, Run

WALL_CLOCK = {"elapsed_seconds", "tokens_per_second", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"}


def config(models, tmp_path, name):
    data = write_pairs(tmp_path / "pairs.jsonl", 24)
    with open(data, "a", encoding="utf-8") as f:
        f.write("not a pair\n")  # skipped with a data warning at step 0, which a resume must not repeat
    return resolve_config(
        {
            "engine": "torch",
            "model": models["gpt2"],
            "data": data,
            "skip_bad_lines": True,
            "output_dir": str(tmp_path / name),
            "max_steps": 6,
            "batch_size": 2,
            "eval_fraction": 0.25,
            "eval_steps": 3,
            "save_steps": 3,
            "learning_rate": 1e-3,
            "lr_scheduler_type": "constant",
            "warmup_ratio": 0,
            "max_length": 64,
        }
    )


def records(run_dir):
    """metrics.jsonl less status records and wall-clock fields, and pairs.jsonl."""
    metrics = [
        {k: (v.split(": ", 1)[-1] if k == "message" else v) for k, v in r.items() if k not in WALL_CLOCK}  # less the data file's path
        for r in read_jsonl(os.path.join(run_dir, "metrics.jsonl"))
        if r["kind"] != "status"
    ]
    return metrics, read_jsonl(os.path.join(run_dir, "pairs.jsonl"))


def assert_same(a, b):
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b, strict=True):
        assert set(x) == set(y), set(x) ^ set(y)
        for k in x:
            if isinstance(x[k], float):
                assert math.isclose(x[k], y[k], rel_tol=1e-4, abs_tol=1e-6), (x.get("step"), k, x[k], y[k])
            else:
                assert x[k] == y[k], (x.get("step"), k, x[k], y[k])


@pytest.fixture(scope="module")
def whole(models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("whole")
    c = config(models, tmp, "whole")
    assert Run(c, NullSink()).run()["reason"] == "completed"
    return c["output_dir"]


def test_stopped_twice_and_resumed_logs_the_uninterrupted_records(models, tmp_path, whole):
    c = config(models, tmp_path, "parts")
    for stop_at, resume in ((2, False), (4, True)):
        run = Run(c, NullSink(), resume=resume)
        run.should_stop = lambda run=run, at=stop_at: run.step >= at
        assert run.run()["reason"] == "stopped" and run.step == stop_at
    assert Run(c, NullSink(), resume=True).run()["reason"] == "completed"
    metrics, pairs = records(c["output_dir"])
    want_metrics, want_pairs = records(whole)
    assert [(m["split"], m["step"]) for m in metrics if m["kind"] == "metrics" and m["split"] == "eval"] == [
        ("eval", 0),
        ("eval", 3),
        ("eval", 6),
    ]
    assert len(pairs) == len(want_pairs) == 6 * 2 + 3 * 6
    assert [m["code"] for m in metrics if m["kind"] == "warning"] == ["data"], "the start-up warning, once"
    assert_same(metrics, want_metrics)
    assert_same(pairs, want_pairs)


def test_killed_while_writing_final_resumes_to_completion(models, tmp_path, whole):
    # The state a kill inside save_final leaves: every step and checkpoint done, final.tmp half
    # written, no final/, no "completed" status.
    run = tmp_path / "killed"
    shutil.copytree(whole, run)
    shutil.rmtree(run / "final")
    os.makedirs(run / "final.tmp")
    (run / "final.tmp" / "model.safetensors").write_bytes(b"\x00" * 10)
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    assert '"completed"' in lines[-1]
    (run / "metrics.jsonl").write_text("".join(lines[:-1]))
    # As `dpo train --resume` does: the run's own config.json (its data file too), in the new place.
    c = resolve_config({**json.loads((run / "config.json").read_text()), "output_dir": str(run)})
    r = Run(c, NullSink(), resume=True).run()
    assert r["reason"] == "completed" and r["step"] == 6
    assert not (run / "final.tmp").exists()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(run / "final").config.model_type == "gpt2"
    metrics, pairs = records(run)
    want_metrics, want_pairs = records(whole)
    assert_same(metrics, want_metrics)
    assert_same(pairs, want_pairs)
