"""Run.prepare() follows run_folder.decide_start (whose rule test/conformance/resume checks on both
engines): a torch run killed while writing its first checkpoint, with a torn last metrics line,
resumes by starting over from step 0 and completes; its records are those of one run."""

import json

from conftest import read_jsonl, write_pairs

from dpo_studio.schemas import resolve_config
from dpo_studio.train import Run


def test_resume_killed_before_the_first_checkpoint_restarts_and_completes(models, tmp_path):
    out = tmp_path / "run"
    c = resolve_config(
        {
            "engine": "torch",
            "model": models["gpt2"],
            "data": write_pairs(tmp_path / "pairs.jsonl", 12),
            "output_dir": str(out),
            "max_steps": 2,
            "batch_size": 2,
            "eval_fraction": 0,
            "save_steps": 2,
            "max_length": 64,
        }
    )
    out.mkdir()
    (out / "config.json").write_text(json.dumps(c))
    # What a kill part way through the first checkpoint leaves: a record, a torn line, HF's staging.
    status = {"kind": "status", "status": "running", "step": 0, "total_steps": 2, "time": "t", "engine": "torch", "device": "cpu"}
    (out / "metrics.jsonl").write_text(json.dumps(status) + '\n{"kind":"metrics","split":"train","step":1,"lo')
    (out / ".hf-staging" / "checkpoint-2").mkdir(parents=True)
    (out / ".hf-staging" / "checkpoint-2" / "model.safetensors").write_bytes(b"half")
    r = Run(c, None, resume=True).run()
    assert r["reason"] == "completed" and r["step"] == 2
    recs = read_jsonl(out / "metrics.jsonl")
    assert [x["step"] for x in recs if x["kind"] == "metrics"] == [1, 2]
    assert [x["status"] for x in recs if x["kind"] == "status"] == ["running", "completed"]
    assert "restarting from step 0" in (out / "log.txt").read_text()
