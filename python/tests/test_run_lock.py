"""The torch engine honours the run folder rules of the embedded engine (src/engine/train/output-dir.ts,
run-lock.ts): a folder holding other files is refused and left untouched; a live run.lock (same JSON
format) refuses a second writer; a dead process's lock on this host is taken over and released."""

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import write_pairs

from dpo_studio.schemas import resolve_config
from dpo_studio.train import Run, TrainingError


def config(models, tmp_path, out):
    data = write_pairs(tmp_path / "pairs.jsonl", 8)
    return resolve_config(
        {
            "engine": "torch",
            "model": models["gpt2"],
            "data": data,
            "output_dir": str(out),
            "max_steps": 1,
            "batch_size": 2,
            "eval_fraction": 0,
            "save_steps": 1,
            "max_length": 64,
        }
    )


def test_a_folder_with_other_files_is_refused_untouched(models, tmp_path):
    out = tmp_path / "model-folder"
    out.mkdir()
    (out / "weights.bin").write_bytes(b"keep me")
    with pytest.raises(TrainingError, match=r"holds other files \(weights\.bin\): a run folder must be new or empty"):
        Run(config(models, tmp_path, out), None).run()
    assert sorted(os.listdir(out)) == ["weights.bin"]


def test_a_live_lock_refuses_a_second_writer_and_a_dead_ones_is_taken_over(models, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    live = {"pid": os.getppid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00.000Z"}
    (out / "run.lock").write_text(json.dumps(live) + "\n")
    with pytest.raises(TrainingError, match=rf"in use by another run \(pid {os.getppid()} on {socket.gethostname()}"):
        Run(config(models, tmp_path, out), None).run()
    assert os.listdir(out) == ["run.lock"], "the refused run wrote nothing"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    (out / "run.lock").write_text(json.dumps({**live, "pid": int(dead)}) + "\n")  # a kill -9 leaves this
    r = Run(config(models, tmp_path, out), None).run()
    assert r["reason"] == "completed"
    assert not (out / "run.lock").exists(), "released at the end"


def test_another_hosts_lock_names_the_file_to_delete(models, tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    (out / "run.lock").write_text(json.dumps({"pid": 1, "host": "elsewhere-node-7", "started": "2026-01-01T00:00:00.000Z"}))
    with pytest.raises(TrainingError, match=rf"pid 1 on elsewhere-node-7.*or delete {out / 'run.lock'} if it is no longer running"):
        Run(config(models, tmp_path, out), None).run()
