"""`dpo eval`'s log-probs and KL estimate against an independent float64 computation with transformers:
two random-weight GPT-2s made by transformers, answers sampled by `dpo eval` on the torch engine and on
the embedded engine, then every answer's summed log pi and log pi_ref recomputed from its prompt and
its sampled token ids (prompt tokenized here, by transformers) and the summary's kl compared."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers as tr
from make_models import make_model

REPO = Path(__file__).resolve().parents[3]

# The engines score in float32: a token's log-prob carries ~1e-6 relative error (|log p| ~ 5.5 nats
# for a 259-token vocabulary), a sum over at most 9 tokens ~1e-5 absolute. 1e-4 leaves 10x headroom
# and still catches any off-by-one token, a dropped EOS or a wrong prompt (each moves a sum by > 1e-2).
TOL = 1e-4


def dpo(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DPO_TORCH_ENV": os.path.dirname(os.path.dirname(sys.executable)), "DPO_BACKEND": "wasm"}
    proc = subprocess.run(["node", str(REPO / "bin" / "dpo.js"), *args], capture_output=True, text=True, cwd=REPO, timeout=600, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"dpo {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def pair(tmp_root: Path) -> dict:
    """Policy and reference: untied GPT-2s with the tiny byte-level tokenizer (and its ChatML template) of `dpo make-tiny-model`."""
    root = tmp_root / "eval-kl"
    dpo("make-tiny-model", "--out", str(root / "tok"))
    out = {}
    for name, seed in (("policy", 1), ("reference", 2)):
        # A wide initialisation makes the next-token distributions peaked, so the models disagree and EOS is sampled.
        d = make_model("gpt2-untied", root / name, seed=seed, vocab=259, eos=256, bos=256, initializer_range=0.4, n_positions=128)
        # EOS's head row along the final norm's bias adds ~5 to its logit everywhere, so that some
        # answers end on EOS (p ~ 0.1 a token): its log-prob must be in the sums too.
        m = tr.AutoModelForCausalLM.from_pretrained(d)
        with torch.no_grad():
            b = m.transformer.ln_f.bias
            m.lm_head.weight[256] = b * 5 / b.norm() ** 2
        m.save_pretrained(d)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(root / "tok" / f, d / f)
        out[name] = d
    prompts = root / "prompts.jsonl"
    rows = [
        {"prompt": "hello"},
        {"prompt": [{"role": "user", "content": "hi there"}]},
        {"prompt": "ab", "chosen": "x", "rejected": "y"},
        # A whole conversation: probe/generate's and probe/score's `messages` on both engines.
        {
            "prompt": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "yo"},
                {"role": "user", "content": "and?"},
            ]
        },
    ]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out["prompts"] = prompts
    out["root"] = root
    return out


def float64_logps(model_dir: Path, tok, line: dict) -> float:
    if "messages" in line:
        ids = tok.apply_chat_template(line["messages"], tokenize=True, add_generation_prompt=True, return_dict=False)
        prompt = list(ids["input_ids"] if isinstance(ids, dict) else ids)
    else:
        prompt = tok.encode(line["prompt"], add_special_tokens=True)
    model = float64_model(str(model_dir))
    full = torch.tensor([prompt + line["token_ids"]])
    with torch.no_grad():
        logps = torch.log_softmax(model(input_ids=full).logits[0, len(prompt) - 1 : -1], -1)
    return float(logps.gather(1, full[0, len(prompt) :, None]).sum())


@functools.cache
def float64_model(model_dir: str):
    return tr.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float64).eval()


@pytest.mark.parametrize("engine", ["torch", "tfjs"])
def test_eval_log_probs_and_kl_match_float64(pair: dict, engine: str) -> None:
    out = pair["root"] / f"out-{engine}"
    args = ["eval", "--model", str(pair["policy"]), "--reference", str(pair["reference"]), "--prompts", str(pair["prompts"])]
    dpo(*args, "--samples", "2", "--max-new-tokens", "8", "--seed", "5", "--engine", engine, "--out", str(out))
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines() if x.strip()]
    summary = json.loads((out / "summary.json").read_text())
    assert len(lines) == 4 * 2 * 2 and summary["engine"] == engine
    tok = tr.AutoTokenizer.from_pretrained(pair["policy"])
    worst = 0.0
    diffs = []
    for line in lines:
        pol = float64_logps(pair["policy"], tok, line)
        ref = float64_logps(pair["reference"], tok, line)
        worst = max(worst, abs(pol - line["policy_logp"]), abs(ref - line["reference_logp"]))
        if line["model"] == "policy":
            diffs.append(pol - ref)
    eos = sum(x["finish_reason"] == "eos" for x in lines)
    print(
        f"{engine}: {eos} answers ended on EOS; largest |summed log-prob - float64| = {worst:.2e}; kl {summary['kl']:.6f} vs float64 {sum(diffs) / len(diffs):.6f}"
    )
    assert worst < TOL
    assert abs(summary["kl"] - sum(diffs) / len(diffs)) < TOL
    assert summary["kl_ci"][0] <= summary["kl"] <= summary["kl_ci"][1]
    # EOS is sampled (and scored: the last id), and the samples differ.
    assert eos > 0 and all(x["token_ids"][-1] == 256 for x in lines if x["finish_reason"] == "eos")
    assert len({tuple(x["token_ids"]) for x in lines}) > 8
