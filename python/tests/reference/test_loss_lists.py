"""Combined losses equal TRL's: the same policy, reference and batch through the embedded engine's
`dpo train --loss-type a,b --loss-weights x,y` and through TRL's DPOTrainer with the same loss_type
list and loss_weights, on tiny GPT-2 and Llama models. The first logged step (before any update)
must match to 1e-5 for every metric both log; RPO's "sft" term is TRL's NLL over all chosen tokens."""

from __future__ import annotations

import json

import pytest
import torch
import transformers as tr
from conftest import dpo_cli
from datasets import Dataset
from make_models import make_model
from make_tokenizers import TOKENIZERS, save
from trl import DPOConfig, DPOTrainer

BETA = 0.1
TOL = 1e-5
# Chosen responses of different lengths: a per-pair token mean of the NLL would differ from TRL's.
PAIRS = [
    {"prompt": "The capital of France is", "chosen": " Paris.", "rejected": " a city in Europe, probably Lyon."},
    {"prompt": "def add(a, b):\n", "chosen": "    return a + b\n", "rejected": "    pass"},
    {"prompt": "Translate 'chat' to English:", "chosen": " cat", "rejected": " dog, I think"},
    {"prompt": "2 + 2 =", "chosen": " 4, as everyone knows", "rejected": " 22 (as text)"},
]
SHARED = ["loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"]
LISTS = {
    "rpo": (["sigmoid", "sft"], None),
    "mpo": (["sigmoid", "bco_pair", "sft"], [0.8, 0.2, 1.0]),
}


@pytest.fixture(scope="module", params=["gpt2", "llama3"])
def setup(request, tmp_root):
    family = request.param
    tok = TOKENIZERS["bpe-gpt2"]()
    eos = tok.token_to_id("<|endoftext|>")
    dirs = {}
    for role, seed in (("policy", 0), ("reference", 1)):
        d = make_model(
            family, tmp_root / f"lists-{family}-{role}", seed=seed, vocab=tok.get_vocab_size(), eos=eos, bos=eos, initializer_range=0.2
        )
        save(tok, d)
        dirs[role] = d
    data = tmp_root / "lists-pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PAIRS))
    return family, dirs, data


def trl_first_step(dirs, types, weights, out) -> dict:
    torch.manual_seed(0)
    args = DPOConfig(
        output_dir=str(out),
        loss_type=types,
        loss_weights=weights,
        beta=BETA,
        learning_rate=1e-3,
        per_device_train_batch_size=len(PAIRS),
        max_steps=1,
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
    trainer = DPOTrainer(
        model=str(dirs["policy"]),
        ref_model=tr.AutoModelForCausalLM.from_pretrained(dirs["reference"]),
        args=args,
        train_dataset=Dataset.from_list(PAIRS),
        processing_class=tr.AutoTokenizer.from_pretrained(dirs["policy"]),
    )
    trainer.train()
    return next(h for h in trainer.state.log_history if "loss" in h)


def our_first_step(dirs, data, types, weights, out) -> dict:
    flags = ["--loss-type", ",".join(types)] + (["--loss-weights", ",".join(map(str, weights))] if weights else [])
    dpo_cli(
        "train",
        *("--model", str(dirs["policy"]), "--reference-model", str(dirs["reference"]), "--data", str(data), "--out", str(out)),
        *flags,
        *("--beta", str(BETA), "--batch-size", str(len(PAIRS)), "--max-steps", "1", "--eval-fraction", "0"),
        *("--learning-rate", "1e-3", "--lr-scheduler-type", "constant", "--warmup-steps", "0", "--warmup-ratio", "0"),
    )
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return next(r for r in records if r.get("kind", "metrics") == "metrics" and r.get("split", "train") == "train" and "loss" in r)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_first_logged_metrics_of_a_loss_list_equal_trl(name, setup, tmp_root, record_property):
    family, dirs, data = setup
    types, weights = LISTS[name]
    theirs = trl_first_step(dirs, types, weights, tmp_root / f"trl-{family}-{name}")
    ours = our_first_step(dirs, data, types, weights, tmp_root / f"ours-{family}-{name}")
    worst = 0.0
    for k in SHARED:
        assert k in ours, f"the engine logs no {k!r}"
        err = abs(ours[k] - theirs[k]) / max(1.0, abs(theirs[k]))
        worst = max(worst, err)
        assert err <= TOL, f"{family} {name} {k}: ours {ours[k]} vs TRL {theirs[k]}"
    # Not the DPO loss alone (about log 2 at these margins): the sft term's NLL of several nats is in it.
    assert theirs["loss"] > 1.5 and abs(theirs["rewards/margins"]) > 1e-3, theirs
    record_property("max_rel_err", worst)
    print(f"{family} {name}: max error {worst:.2e} over {len(SHARED)} metrics")
