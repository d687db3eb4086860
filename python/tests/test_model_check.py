"""Hostile model folders and data bytes get a clear refusal naming the file (and line, and tensors)
and what to do, before transformers or TRL read them (issue #25 class 6; the fault suite's
test/faults/models.ts and inputs.ts make the same kinds)."""

import json
import os
import shutil

import pytest
from conftest import write_pairs

from dpo_studio.data import DataError, read_pairs
from dpo_studio.model_check import ModelFolderError, check_model_folder
from dpo_studio.schemas import resolve_config
from dpo_studio.train import NullSink, Run


@pytest.fixture
def model(models, tmp_path):
    d = tmp_path / "model"
    shutil.copytree(models["gpt2"], d)
    return d


def edit_json(path, change):
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))


def refused(model_dir, *parts):
    with pytest.raises(ModelFolderError) as e:
        check_model_folder(str(model_dir))
    for p in parts:
        assert p in str(e.value), (p, str(e.value))
    return str(e.value)


def test_the_tiny_model_passes(models):
    check_model_folder(models["gpt2"])
    check_model_folder(models["llama"])


def test_a_config_with_a_layer_the_weights_lack_is_refused_and_the_run_fails_before_training(model, tmp_path):
    edit_json(model / "config.json", lambda c: c.update(n_layer=c["n_layer"] + 1))
    refused(model, str(model), "missing tensors transformer.h.2.", "config.json")
    c = resolve_config(
        {
            "engine": "torch",
            "model": str(model),
            "data": write_pairs(tmp_path / "p.jsonl", 8),
            "output_dir": str(tmp_path / "run"),
            "max_steps": 1,
        }
    )
    with pytest.raises(ModelFolderError, match="transformer.h.2"):
        Run(c, NullSink()).run()
    assert not (tmp_path / "run" / "final").exists()
    assert "transformer.h.2" in (tmp_path / "run" / "log.txt").read_text()


def test_weights_the_config_does_not_have_are_refused(model):
    edit_json(model / "config.json", lambda c: c.update(n_layer=1))
    refused(model, "unexpected tensors", "transformer.h.1.")


def test_a_shard_index_reaching_outside_the_folder_is_refused(model, tmp_path):
    os.replace(model / "model.safetensors", tmp_path / "outside.safetensors")
    from safetensors import safe_open

    with safe_open(tmp_path / "outside.safetensors", "pt") as f:
        names = list(f.keys())
    (model / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": {n: "../outside.safetensors" for n in names}})
    )
    refused(model, "model.safetensors.index.json", "../outside.safetensors", "not a file inside the model folder")


@pytest.mark.parametrize(
    ("damage", "expect"),
    [
        (lambda m: os.remove(m / "config.json"), ["config.json: missing"]),
        (lambda m: (m / "config.json").write_text('{"model_type": "gpt2",'), ["config.json: not valid JSON"]),
        (lambda m: (m / "config.json").write_text("null"), ["config.json: expected a JSON object"]),
        (
            lambda m: (m / "model.safetensors").write_bytes((m / "model.safetensors").read_bytes()[:100]),
            ["model.safetensors", "invalid safetensors header", "again"],
        ),
        (lambda m: (m / "model.safetensors").write_bytes((m / "model.safetensors").read_bytes()[:-1000]), ["model.safetensors: truncated"]),
        (lambda m: [os.remove(m / n) for n in ("tokenizer.json", "tokenizer_config.json")], ["no tokenizer", "tokenizer.save_pretrained"]),
    ],
)
def test_bad_model_folders_name_the_file_and_what_to_do(model, damage, expect):
    damage(model)
    refused(model, *expect)


def test_pickle_weights_are_named_and_never_loaded(model):
    os.remove(model / "model.safetensors")
    (model / "pytorch_model.bin").write_bytes(b"\x80\x04\x95not really a pickle")
    message = refused(model, "pytorch_model.bin", "pickle weights are never loaded", "safetensors")
    assert "weights_only" not in message


def test_a_tokenizer_larger_than_the_embedding_is_refused(model, tmp_path):
    vocab = json.loads((model / "config.json").read_text())["vocab_size"]
    edit_json(
        model / "tokenizer.json",
        lambda t: t["added_tokens"].append(
            {
                "id": vocab,
                "content": "<beyond>",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ),
    )
    c = resolve_config(
        {
            "engine": "torch",
            "model": str(model),
            "data": write_pairs(tmp_path / "p.jsonl", 8),
            "output_dir": str(tmp_path / "run"),
            "max_steps": 1,
        }
    )
    with pytest.raises(ModelFolderError, match=rf"config\.json has vocab_size {vocab} but .*tokenizer\.json\) has {vocab + 1} tokens"):
        Run(c, NullSink()).run()


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.update(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": False}),
        lambda t: t.update(normalizer={"type": "Replace", "pattern": {"Regex": "(a+)+$"}, "content": "x"}),
    ],
)
def test_a_runaway_tokenizer_regex_names_the_file_and_the_data_line(model, tmp_path, edit):
    edit_json(model / "tokenizer.json", edit)
    data = write_pairs(tmp_path / "p.jsonl", 8)
    with open(data, "a", encoding="utf-8") as f:  # line 9: the classic input of catastrophic backtracking for (a+)+$
        f.write(json.dumps({"prompt": "a" * 40 + "!", "chosen": " yes", "rejected": " no"}) + "\n")
    c = resolve_config(
        {"engine": "torch", "model": str(model), "data": data, "eval_fraction": 0, "output_dir": str(tmp_path / "run"), "max_steps": 1}
    )
    with pytest.raises(ModelFolderError, match=rf"tokenizer\.json.*{data}:9.*regex"):
        Run(c, NullSink()).run()
    rows = [{"line": 9, "prompt": "a" * 40 + "!", "chosen": "x", "rejected": "y"}]
    from dpo_studio.tokenize_check import check_tokenizer_time

    check_tokenizer_time(str(tmp_path / "no-tokenizer-json"), [(data, rows)])  # nothing to run: returns


def test_bad_data_bytes_and_empty_data_name_the_file_and_line(tmp_path):
    good = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}).encode()
    path = tmp_path / "data.jsonl"
    path.write_bytes(good + b"\n" + good[:20] + b"\xff" + good[20:] + b"\n")
    with pytest.raises(DataError) as e:
        read_pairs(str(path), False, completions=False)
    assert f"{path}:2: not UTF-8 text (byte 0xff at column 21)" in str(e.value)
    rows, problems, _ = read_pairs(str(path), True, completions=False)
    assert [r["line"] for r in rows] == [1] and len(problems) == 1
    deep = b"[" * 100000 + b"]" * 100000
    path.write_bytes(good + b"\n" + b'{"prompt": "p", "chosen": " a", "rejected": " b", "meta": ' + deep + b"}\n" + deep + b"\n")
    with pytest.raises(DataError) as e:
        read_pairs(str(path), False, completions=False)
    assert f"{path}:2: JSON nested too deeply" in str(e.value) and f"{path}:3: JSON nested too deeply" in str(e.value)
    path.write_bytes(b"")
    with pytest.raises(DataError, match=f"{path}: no preference pairs"):
        read_pairs(str(path), False, completions=False)
