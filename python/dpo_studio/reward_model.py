"""reward-model/* on the torch engine: a `*ForSequenceClassification` folder with one label (what TRL's
RewardTrainer writes) loaded with AutoModelForSequenceClassification, or the SEQ_CLS LoRA adapter it
writes with a peft_config merged into its base, and prompt + response scored as the RewardTrainer
builds the text (src/engine/probe/reward-model.ts does the same on the embedded engine, which
refuses adapters). Not the evaluation around the scores (dpo eval)."""

import json
import os
import threading
from typing import Any

import torch

from .model_check import TOKENIZER_FILES, ModelFolderError, _weight_files, check_tokenizer_fits, safetensors_names


class RewardModelError(ValueError):
    pass


def _has_tokenizer(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, n)) for n in TOKENIZER_FILES)


def adapter_base(model_dir: str) -> str | None:
    """A PEFT adapter folder (adapter_config.json, no config.json) of a reward model, as RewardTrainer
    with a peft_config saves one: checked, and its base folder returned; None for a whole model."""
    adapter = os.path.join(model_dir, "adapter_config.json")
    if os.path.isfile(os.path.join(model_dir, "config.json")) or not os.path.isfile(adapter):
        return None
    try:
        with open(adapter, encoding="utf-8") as f:
            raw = json.load(f)
    except ValueError as e:
        raise RewardModelError(f"{adapter}: invalid JSON ({e})") from None
    if not isinstance(raw, dict) or raw.get("task_type") != "SEQ_CLS":
        task = raw.get("task_type") if isinstance(raw, dict) else None
        raise RewardModelError(
            f"{adapter}: task_type is {json.dumps(task)}, not \"SEQ_CLS\"; a reward model's adapter is a sequence classifier's "
            "(what RewardTrainer with a peft_config saves)"
        )
    weights = os.path.join(model_dir, "adapter_model.safetensors")
    if not os.path.isfile(weights):
        raise RewardModelError(f"{weights}: missing; adapters load from safetensors only (pickles are never loaded)")
    try:
        names = safetensors_names(weights)
    except ModelFolderError as e:
        raise RewardModelError(str(e)) from None
    if not any(n.endswith("score.weight") for n in names):
        raise RewardModelError(
            f"{weights}: no score head (modules_to_save); the adapter's head would be random: save the adapter RewardTrainer trained"
        )
    base = raw.get("base_model_name_or_path")
    # As the embedded engine resolves it: beside the adapter first, then from the current folder.
    found = [b for b in ((os.path.join(model_dir, base), base) if isinstance(base, str) and base else ()) if os.path.isdir(b)]
    if not found:
        raise RewardModelError(
            f"{adapter}: base_model_name_or_path {json.dumps(base)} is not a folder here; give the base model's folder there"
        )
    return found[0]


def check_reward_folder(model_dir: str) -> None:
    """Raises RewardModelError naming the file and what to do; returns when transformers may load it."""
    if not os.path.isdir(model_dir):
        raise RewardModelError(f"{model_dir}: not a folder; a reward model is a Hugging Face model folder")
    base = adapter_base(model_dir)
    if base is not None:
        try:
            for path in _weight_files(base):
                safetensors_names(path)
        except ModelFolderError as e:
            raise RewardModelError(str(e)) from None
        if not (_has_tokenizer(model_dir) or _has_tokenizer(base)):
            raise RewardModelError(
                f"{model_dir}: no tokenizer beside the adapter or in its base {base}; save the tokenizer with the adapter"
            )
        return
    config_path = os.path.join(model_dir, "config.json")
    try:
        with open(config_path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise RewardModelError(f"{config_path}: missing; a reward model folder needs the Hugging Face config.json") from None
    except ValueError as e:
        raise RewardModelError(f"{config_path}: invalid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise RewardModelError(f"{config_path}: not a JSON object")
    archs = raw.get("architectures")
    arch = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else None
    if arch is None or not arch.endswith("ForSequenceClassification"):
        raise RewardModelError(
            f"{config_path}: architectures is {json.dumps(archs)}, not a sequence classifier; a reward model is a "
            "*ForSequenceClassification folder with num_labels 1 (what TRL's RewardTrainer writes)"
        )
    # transformers' rule: id2label's size, else num_labels, else 2.
    id2label = raw.get("id2label")
    labels = len(id2label) if isinstance(id2label, dict) else raw.get("num_labels", 2)
    if labels != 1:
        raise RewardModelError(
            f'{config_path}: num_labels is {labels} (field "id2label"); a reward model has one label, its score: train it with TRL\'s RewardTrainer'
        )
    try:
        for path in _weight_files(model_dir):
            safetensors_names(path)
    except ModelFolderError as e:
        raise RewardModelError(str(e)) from None
    if not _has_tokenizer(model_dir):
        raise RewardModelError(
            f"{model_dir}: no tokenizer ({', '.join(TOKENIZER_FILES)}); save the reward model's tokenizer into the folder (tokenizer.save_pretrained)"
        )


def reward_input_ids(tok: Any, prompt: str, chat: bool, response: str, messages: list[dict] | None = None) -> list[int]:
    """The ids TRL's RewardTrainer scores (reward_trainer.py, _prepare_dataset): text examples are
    prompt + response with the EOS text appended when the response lacks it, tokenized with the
    special tokens; conversations (messages, or one user turn of prompt, then the response as the
    assistant's) through apply_chat_template without a generation prompt."""
    if chat:
        conv = [*(messages or [{"role": "user", "content": prompt}]), {"role": "assistant", "content": response}]
        return list(tok.apply_chat_template(conv, tokenize=True, return_dict=True)["input_ids"])
    eos = tok.eos_token
    if eos is not None and not response.endswith(eos):
        response = response + eos
    return list(tok(text=prompt + response)["input_ids"])


def merged_adapter(base: str, adapter_dir: str, tok: Any) -> Any:
    """The base as a one-label classifier with the adapter (LoRA and its score head) merged in. The
    adapter folder carries no config.json, so the pad id is set as RewardTrainer set it in training:
    the tokenizer's pad token, else its EOS."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    # The base's own head (none, for a causal LM) is replaced by the adapter's saved one.
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    model.config.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    return model


class RewardModelSession:
    def __init__(self) -> None:
        self.model: Any = None
        self.tok: Any = None
        self.dir = ""
        self.lock = threading.Lock()  # one forward at a time; a load swaps the model under it

    def load(self, model_dir: str) -> dict:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from .device import describe_device

        check_reward_folder(model_dir)
        base = adapter_base(model_dir)
        tok = AutoTokenizer.from_pretrained(model_dir if base is None or _has_tokenizer(model_dir) else base)
        if base is None:
            model, info = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32, output_loading_info=True)
            # A head or layer missing from the files would be initialised at random: scores of noise.
            missing = sorted(info.get("missing_keys") or [])
            if missing:
                raise RewardModelError(
                    f"{model_dir}: the weights lack {', '.join(missing[:8])}{', …' if len(missing) > 8 else ''}; "
                    "use the folder the RewardTrainer saved (config.json and weights together)"
                )
        else:
            model = merged_adapter(base, model_dir, tok)
        check_tokenizer_fits(model_dir, tok, getattr(model.config, "vocab_size", None))
        model = model.to(describe_device()["device"]).eval()
        with self.lock:
            self.model, self.tok, self.dir = model, tok, model_dir
        return {
            "architecture": type(model).__name__,  # a merged adapter's config names its causal base
            "parameters": sum(t.numel() for t in model.parameters()),
            "chatTemplate": bool(getattr(tok, "chat_template", None)),
        }

    @torch.no_grad()
    def score(self, prompt: str, chat: bool, response: str, messages: list[dict] | None = None) -> dict:
        with self.lock:
            model, tok = self.model, self.tok
            if model is None:
                raise RewardModelError("no reward model loaded: send reward-model/load first")
            ids = reward_input_ids(tok, prompt, chat, response, messages)
            if not ids:
                raise RewardModelError(f"{self.dir}: prompt + response tokenize to nothing, so there is no token to score")
            limit = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
            if limit and len(ids) > limit:
                raise RewardModelError(
                    f"prompt + response are {len(ids)} tokens, more than the reward model's {limit} positions ({self.dir}); shorten them"
                )
            # The model pools the last non-padding token itself (config.pad_token_id), as in training.
            logits = model(input_ids=torch.tensor([ids], device=model.device)).logits
            return {"score": float(logits[0, 0].float())}
