"""A model folder checked before transformers loads it (train and probe): config.json readable,
weights in safetensors only (pickles are never loaded), shard files named inside the folder, every
header whole, a tokenizer present, and the weights the config's model needs, no more and no fewer.
Each refusal names the file (and tensors) and what to do. It does not load weights' data."""

import json
import os
import struct
from typing import Any

PICKLES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


class ModelFolderError(ValueError):
    pass


def _read_json(path: str, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except FileNotFoundError:
        raise ModelFolderError(f"{path}: missing; a model folder needs {what}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFolderError(f"{path}: not valid JSON ({e}); re-save the model with save_pretrained or restore the file") from None
    if not isinstance(obj, dict):
        raise ModelFolderError(f"{path}: expected a JSON object; re-save the model with save_pretrained or restore the file")
    return obj


def safetensors_names(path: str) -> list:
    """The tensor names in a safetensors file, after checking that its header and data are whole."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFolderError(f"{path}: truncated ({size} bytes, no safetensors header); download or copy the file again")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or n > _MAX_HEADER or 8 + n > size:
            raise ModelFolderError(
                f"{path}: invalid safetensors header (its length field says {n} bytes, the file has {size}); the file is truncated or not safetensors: download or copy it again"
            )
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, ValueError) as e:
            raise ModelFolderError(f"{path}: unreadable safetensors header ({e}); download or copy the file again") from None
    if not isinstance(header, dict):
        raise ModelFolderError(f"{path}: invalid safetensors header; download or copy the file again")
    names, end = [], 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        offsets = t.get("data_offsets") if isinstance(t, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise ModelFolderError(f"{path}: tensor {name!r} has no valid data_offsets; download or copy the file again")
        end = max(end, offsets[1])
        names.append(name)
    if 8 + n + end > size:
        raise ModelFolderError(f"{path}: truncated: its tensors need {8 + n + end} bytes, the file has {size}; download or copy it again")
    return names


def _weight_files(model_dir: str) -> list:
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.isfile(index_path):
        index = _read_json(index_path, "a weight_map")
        wm = index.get("weight_map")
        if not isinstance(wm, dict) or not wm:
            raise ModelFolderError(f"{index_path}: no weight_map; re-save the model with save_pretrained")
        files = []
        for tensor, name in wm.items():
            # Only plain file names: a shard index must not reach outside the model folder.
            if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
                raise ModelFolderError(
                    f"{index_path}: tensor {tensor!r} names {name!r}, which is not a file inside the model folder; shards must sit beside the index"
                )
            if name not in files:
                files.append(name)
        for name in files:
            if not os.path.isfile(os.path.join(model_dir, name)):
                raise ModelFolderError(
                    f"{os.path.join(model_dir, name)}: missing (named by {index_path}); copy every shard into the folder"
                )
        return [os.path.join(model_dir, n) for n in files]
    if os.path.isfile(single):
        return [single]
    pickles = sorted(n for n in os.listdir(model_dir) if n.endswith(PICKLES))
    if pickles:
        raise ModelFolderError(
            f"{os.path.join(model_dir, pickles[0])}: pickle weights are never loaded (unpickling can run code); "
            "convert the model to safetensors where you trust it (model.save_pretrained(dir, safe_serialization=True)) and use that folder"
        )
    raise ModelFolderError(f"{model_dir}: no model.safetensors or model.safetensors.index.json; a model folder needs safetensors weights")


def check_model_folder(model_dir: str, field: str = "model") -> None:
    """Raises ModelFolderError naming the file and what to do; returns when transformers may load it."""
    if not os.path.isdir(model_dir):
        raise ModelFolderError(
            f"{field}: {model_dir} is not a folder; give a Hugging Face model folder (config.json, model.safetensors, tokenizer files)"
        )
    config = _read_json(os.path.join(model_dir, "config.json"), "config.json (the model's architecture)")
    if not isinstance(config.get("model_type"), str):
        raise ModelFolderError(f"{os.path.join(model_dir, 'config.json')}: no model_type; re-save the model with save_pretrained")
    files = _weight_files(model_dir)
    for path in files:
        safetensors_names(path)
    if not any(os.path.isfile(os.path.join(model_dir, n)) for n in TOKENIZER_FILES):
        raise ModelFolderError(
            f"{model_dir}: no tokenizer ({', '.join(TOKENIZER_FILES)}); save the tokenizer into the folder (tokenizer.save_pretrained)"
        )
    if os.path.isfile(os.path.join(model_dir, "tokenizer.json")):
        _read_json(os.path.join(model_dir, "tokenizer.json"), "tokenizer.json")
    _check_weight_names(model_dir)


def _check_weight_names(model_dir: str) -> None:
    """transformers' own loading report, on the meta device (no weight data read): a config that
    needs tensors the files lack would train with randomly initialised layers."""
    from transformers import AutoModelForCausalLM

    try:
        _, info = AutoModelForCausalLM.from_pretrained(model_dir, output_loading_info=True, device_map="meta")
    except Exception as e:  # mismatched shapes, an unknown architecture…
        raise ModelFolderError(f"{model_dir}: transformers cannot build the model from config.json and the weights: {e}") from None
    for kind, why in (
        ("missing_keys", "the config needs them, the weights lack them"),
        ("unexpected_keys", "in the weights, not in the config's model"),
    ):
        keys = sorted(info.get(kind) or [])
        if keys:
            shown = ", ".join(keys[:8]) + (f", … ({len(keys)} in all)" if len(keys) > 8 else "")
            raise ModelFolderError(
                f"{model_dir}: config.json and the weights disagree: {kind.replace('_keys', '')} tensors {shown} ({why}); "
                "use the config.json that was saved with these weights"
            )
    if info.get("mismatched_keys"):
        raise ModelFolderError(
            f"{model_dir}: tensors with shapes config.json does not give: {sorted(map(str, info['mismatched_keys']))[:8]}"
        )


def check_tokenizer_fits(model_dir: str, tokenizer: Any, vocab_size: int | None) -> None:
    """Token ids at or beyond the embedding's rows fail deep in torch ("index out of range in self")."""
    if isinstance(vocab_size, int) and len(tokenizer) > vocab_size:
        raise ModelFolderError(
            f"{os.path.join(model_dir, 'config.json')} has vocab_size {vocab_size} but the tokenizer ({os.path.join(model_dir, 'tokenizer.json')}) "
            f"has {len(tokenizer)} tokens: ids beyond the embedding cannot be used; use the tokenizer saved with this model"
        )
