"""5. Loss and metrics equal TRL's: the same policy, reference and batch through `dpo train` and
through TRL's DPOTrainer, two steps each. Step 1's logged values (computed before any update) and
step 2's (after one AdamW update with clipping: the first update agrees too) must match to 1e-4
for every loss type both have."""

from __future__ import annotations

import json
import math

import pytest
import torch
import transformers as tr
from conftest import dpo_cli
from datasets import Dataset
from make_models import make_model
from make_tokenizers import TOKENIZERS, save
from trl import DPOConfig, DPOTrainer

BETA = 0.1
PAIRS = [
    {"prompt": "The capital of France is", "chosen": " Paris.", "rejected": " a city in Europe, probably Lyon."},
    {"prompt": "def add(a, b):\n", "chosen": "    return a + b\n", "rejected": "    pass"},
    {"prompt": "Translate 'chat' to English:", "chosen": " cat", "rejected": " dog, I think"},
    {"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 22 (as text)"},
]
# Metrics both trainers log under the same name and definition.
SHARED = [
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
    "logits/chosen",
    "logits/rejected",
]


@pytest.fixture(scope="module")
def setup(tmp_root):
    tok = TOKENIZERS["bpe-gpt2"]()
    vocab = tok.get_vocab_size()
    eos = tok.token_to_id("<|endoftext|>")
    dirs = {}
    for role, seed in (("policy", 0), ("reference", 1)):
        # Larger initial weights than the default 0.02: peaked distributions, so rewards are well away from 0.
        d = make_model("qwen2", tmp_root / f"trl-{role}", seed=seed, vocab=vocab, eos=eos, bos=eos, initializer_range=0.2)
        save(tok, d)
        dirs[role] = d
    data = tmp_root / "trl-pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PAIRS))
    return dirs, data


def trl_two_steps(dirs, loss_type, tmp_root) -> dict:
    torch.manual_seed(0)
    args = DPOConfig(
        output_dir=str(tmp_root / f"trl-run-{loss_type}"),
        loss_type=[loss_type],
        beta=BETA,
        learning_rate=1e-3,
        per_device_train_batch_size=len(PAIRS),
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
    ref = tr.AutoModelForCausalLM.from_pretrained(dirs["reference"])
    trainer = DPOTrainer(
        model=str(dirs["policy"]),
        ref_model=ref,
        args=args,
        train_dataset=Dataset.from_list(PAIRS),
        processing_class=tr.AutoTokenizer.from_pretrained(dirs["policy"]),
    )
    trainer.train()
    return [h for h in trainer.state.log_history if "loss" in h]


def our_two_steps(dirs, data, loss_type, tmp_root) -> dict:
    out = tmp_root / f"our-run-{loss_type}"
    dpo_cli(
        "train",
        "--model",
        str(dirs["policy"]),
        "--reference-model",
        str(dirs["reference"]),
        "--data",
        str(data),
        "--out",
        str(out),
        "--loss-type",
        loss_type,
        "--beta",
        str(BETA),
        "--batch-size",
        str(len(PAIRS)),
        "--max-steps",
        "2",
        "--eval-fraction",
        "0",
        "--learning-rate",
        "1e-3",
        "--lr-scheduler-type",
        "constant",
        "--warmup-steps",
        "0",
        "--warmup-ratio",
        "0",
    )
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r.get("kind", "metrics") == "metrics" and r.get("split", "train") == "train" and "loss" in r]


@pytest.mark.parametrize("loss_type", ["sigmoid", "hinge", "ipo"])
def test_metrics_of_two_steps_equal_trl(loss_type, setup, tmp_root, record_property):
    dirs, data = setup
    theirs_steps = trl_two_steps(dirs, loss_type, tmp_root)
    ours_steps = our_two_steps(dirs, data, loss_type, tmp_root)
    assert len(theirs_steps) == len(ours_steps) == 2
    # IPO: both optimise per-token mean log-ratios, so the loss is shared; our logps/* and rewards/*
    # are of those means (what the loss sees), TRL's of the sums (see the README).
    keys = ["loss", "logits/chosen", "logits/rejected"] if loss_type == "ipo" else SHARED
    worst = 0.0
    for step, (ours, theirs) in enumerate(zip(ours_steps, theirs_steps, strict=True), start=1):
        for k in keys:
            assert k in ours, f"the engine logs no {k!r}"
            err = abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1e-6)
            worst = max(worst, err)
            assert err <= 1e-4, f"{loss_type} step {step} {k}: ours {ours[k]} vs TRL {theirs[k]}"
    # Not a trivial batch: policy and reference differ, so the rewards are far from 0, and the
    # update moved the loss.
    assert abs(theirs_steps[0]["rewards/margins"]) > 1e-3
    assert not math.isclose(theirs_steps[0]["loss"], math.log(2), rel_tol=1e-3)
    assert abs(theirs_steps[1]["loss"] - theirs_steps[0]["loss"]) > 1e-3
    record_property("max_rel_err", worst)
    print(f"{loss_type}: max relative error {worst:.2e} over {len(keys)} metrics x 2 steps")
