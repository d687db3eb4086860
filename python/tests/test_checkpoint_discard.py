"""Checkpoints are replaced and pruned whole or not at all. A kill part way through a recursive delete
is simulated by an rmtree that removes one file and then raises: deleting step-N in place (the old
code) left a step-N with trainer_state.json but without optimizer.pt, which resume would load. This
is what the kill -9 test (test_kill_checkpoints.py) caught once in ten kills under load."""

import os
import shutil

import pytest

from dpo_studio import run_folder
from dpo_studio.run_folder import TRAINER_STATE, RunFolder


def hf_checkpoint(folder: RunFolder, step: int) -> str:
    """A finished checkpoint as HF writes it in the staging folder (trainer_state.json last)."""
    d = os.path.join(folder.staging, f"checkpoint-{step}")
    os.makedirs(d)
    for name in ("model.safetensors", "optimizer.pt", "rng_state.pth", TRAINER_STATE):
        with open(os.path.join(d, name), "w") as f:
            f.write(str(step))
    return d


REAL_RMTREE = shutil.rmtree


class Killed(Exception):
    pass


def killed_rmtree(path, ignore_errors=False):
    """rmtree killed after its first file (by name)."""
    first = sorted(os.listdir(path))[0]
    os.remove(os.path.join(path, first))
    raise Killed()


def assert_whole(folder: RunFolder) -> list:
    for step, d in folder.checkpoints():
        for name in ("model.safetensors", "optimizer.pt", "rng_state.pth"):
            assert os.path.exists(os.path.join(d, name)), f"step-{step} is listed as complete but lacks {name}"
    return [s for s, _ in folder.checkpoints()]


def test_pruning_killed_part_way_leaves_only_whole_checkpoints(tmp_path, monkeypatch):
    folder = RunFolder(str(tmp_path / "run"))
    for step in (1, 2):
        folder.adopt_checkpoint(hf_checkpoint(folder, step), step, 2)
    monkeypatch.setattr(run_folder.shutil, "rmtree", killed_rmtree)
    with pytest.raises(Killed):
        folder.adopt_checkpoint(hf_checkpoint(folder, 3), 3, 2)  # pruning step-1 dies part way
    monkeypatch.setattr(run_folder.shutil, "rmtree", REAL_RMTREE)
    assert assert_whole(folder) == [2, 3]
    folder.clean_staging()  # what a resumed run does first: the half-deleted step-1 goes with it
    assert not os.path.exists(folder.staging)
    assert assert_whole(folder) == [2, 3]


def test_replacing_a_step_killed_part_way_leaves_it_whole_or_gone(tmp_path, monkeypatch):
    folder = RunFolder(str(tmp_path / "run"))
    folder.adopt_checkpoint(hf_checkpoint(folder, 5), 5, None)
    monkeypatch.setattr(run_folder.shutil, "rmtree", killed_rmtree)
    with pytest.raises(Killed):
        folder.adopt_checkpoint(hf_checkpoint(folder, 5), 5, None)
    assert_whole(folder)
