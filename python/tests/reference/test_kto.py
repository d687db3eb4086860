"""KTO's loss and metrics equal TRL's KTOTrainer: the same policy, reference and lines through TRL itself
and through `dpo kto` on both engines, two steps each (step 1 before any update, step 2 after one
AdamW update). The torch engine (which runs KTOTrainer) must match to 1e-5, the embedded engine
(tfjs, float32 kernels of its own) to 1e-4. Non-default desirable/undesirable weights, a positive KL
reference point and batches holding both labels, so that dropping any of them changes a number."""

from __future__ import annotations

import json
import os
import sys

import pytest
import torch
import transformers as tr
from conftest import dpo_cli
from datasets import Dataset
from make_models import make_model
from make_tokenizers import TOKENIZERS, save
from trl import KTOConfig, KTOTrainer

BETA = 0.1
WEIGHTS = (1.3, 0.7)
LINES = [
    {"prompt": "The capital of France is", "completion": " Paris.", "label": True},
    {"prompt": "def add(a, b):\n", "completion": "    pass", "label": False},
    {"prompt": "Translate 'chat' to English:", "completion": " cat", "label": True},
    {"prompt": "2 + 2 =", "completion": " 22 (as text)", "label": False},
    {"prompt": "The sky is", "completion": " green, mostly.", "label": False},
    {"prompt": "Water boils at", "completion": " 100 C at sea level.", "label": True},
    {"prompt": "Say hi:", "completion": " hi", "label": True},
    {"prompt": "The opposite of up is", "completion": " sideways", "label": False},
]
PAIRS = [
    {"prompt": "The capital of France is", "chosen": " Paris.", "rejected": " a city in Europe, probably Lyon."},
    {"prompt": "def add(a, b):\n", "chosen": "    return a + b\n", "rejected": "    pass"},
    {"prompt": "Translate 'chat' to English:", "chosen": " cat", "rejected": " dog, I think"},
    {"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 22 (as text)"},
]
# What KTOTrainer logs that both engines log under the same name and definition.
SHARED = [
    "loss",
    "kl",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "logps/chosen",
    "logps/rejected",
    "logits/chosen",
    "logits/rejected",
]
# (family, data, lines per batch): unpaired lines in two batches; a paired file in one batch (TRL
# unpairs it into all chosen, then all rejected, so a smaller batch would hold one label only).
CASES = [("gpt2", "unpaired", 4), ("llama3", "unpaired", 4), ("gpt2", "paired", 8)]


@pytest.fixture(scope="module")
def models(tmp_root):
    tok = TOKENIZERS["bpe-gpt2"]()
    eos = tok.token_to_id("<|endoftext|>")
    dirs = {}
    for family in ("gpt2", "llama3"):
        for role, seed in (("policy", 1), ("reference", 0)):
            d = make_model(
                family, tmp_root / f"kto-{family}-{role}", seed=seed, vocab=tok.get_vocab_size(), eos=eos, bos=eos, initializer_range=0.2
            )
            save(tok, d)
            dirs[family, role] = d
    return dirs


def data_file(tmp_root, data: str):
    path = tmp_root / f"kto-{data}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in (LINES if data == "unpaired" else PAIRS)))
    return path


def trl_two_steps(policy, reference, data: str, batch: int, out) -> list[dict]:
    torch.manual_seed(0)
    args = KTOConfig(
        output_dir=str(out),
        beta=BETA,
        desirable_weight=WEIGHTS[0],
        undesirable_weight=WEIGHTS[1],
        learning_rate=1e-3,
        per_device_train_batch_size=batch,
        max_steps=2,
        logging_steps=1,
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
        report_to=[],
        save_strategy="no",
        max_length=None,
        lr_scheduler_type="constant",
        warmup_steps=0,
        dataloader_num_workers=0,
    )
    trainer = KTOTrainer(
        model=str(policy),
        ref_model=tr.AutoModelForCausalLM.from_pretrained(reference),
        args=args,
        train_dataset=Dataset.from_list(LINES if data == "unpaired" else PAIRS),
        processing_class=tr.AutoTokenizer.from_pretrained(policy),
    )
    trainer.train()
    return [h for h in trainer.state.log_history if "loss" in h]


def our_two_steps(policy, reference, data_path, batch: int, engine: str, out) -> list[dict]:
    os.environ.setdefault("DPO_TORCH_ENV", os.path.dirname(os.path.dirname(sys.executable)))
    # as flags, so that the flags' mapping is under test too
    flags = ["--model", str(policy), "--reference-model", str(reference), "--data", str(data_path), "--out", str(out)]
    flags += ["--engine", engine, "--beta", str(BETA), "--desirable-weight", str(WEIGHTS[0]), "--undesirable-weight", str(WEIGHTS[1])]
    flags += ["--batch-size", str(batch), "--max-steps", "2", "--eval-fraction", "0", "--learning-rate", "1e-3"]
    flags += ["--lr-scheduler-type", "constant", "--warmup-steps", "0", "--warmup-ratio", "0"]
    dpo_cli("kto", *flags)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r.get("kind") == "metrics" and r.get("split") == "train"]


@pytest.mark.parametrize(("family", "data", "batch"), CASES)
def test_kto_metrics_of_two_steps_equal_trl(family, data, batch, models, tmp_root, record_property):
    policy, reference = models[family, "policy"], models[family, "reference"]
    theirs = trl_two_steps(policy, reference, data, batch, tmp_root / f"trl-kto-{family}-{data}")
    assert len(theirs) == 2
    # Not a trivial batch: policy and reference differ, the KL point is in use, and both labels are there.
    assert theirs[0]["kl"] > 1e-3, f"KL reference point {theirs[0]['kl']}: pick seeds that make it positive"
    assert abs(theirs[0]["rewards/margins"]) > 1e-3 and abs(theirs[1]["loss"] - theirs[0]["loss"]) > 1e-4
    worst = {}
    for engine, tol in (("torch", 1e-5), ("tfjs", 1e-4)):
        ours = our_two_steps(policy, reference, data_file(tmp_root, data), batch, engine, tmp_root / f"our-kto-{engine}-{family}-{data}")
        assert len(ours) == 2
        worst[engine] = 0.0
        for step, (a, b) in enumerate(zip(ours, theirs, strict=True), start=1):
            for k in SHARED:
                assert k in a, f"{engine} logs no {k!r} at step {step}"
                err = abs(a[k] - b[k]) / max(abs(b[k]), 1e-6)
                worst[engine] = max(worst[engine], err)
                assert err <= tol, f"{engine} {family} {data} step {step} {k}: ours {a[k]} vs TRL {b[k]}"
    record_property("max_rel_err", worst)
    print(f"kto {family} {data}: max relative error vs TRL: torch {worst['torch']:.2e}, tfjs {worst['tfjs']:.2e}")
