"""`python -m dpo_studio.logps`: summed response log-probs of each pair (prompt and padding excluded,
EOS included), the same tokens and output lines as the tfjs engine's `dpo logps`
(src/engine/data/tokenize.ts: text prompts with the tokenizer's special tokens, responses tokenized
on their own with EOS appended; chat lines through the chat template, split where the response
starts; truncation keeps the start), so the two engines can be compared number for number."""

import argparse
import json
import os
import sys
from typing import Any

import torch

from .data import read_pairs


def prompt_ids(tok: Any, prompt: Any, conversational: bool) -> list:
    if conversational:
        ids = tok.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=False)
        ids = list(ids["input_ids"] if isinstance(ids, dict) else ids)
    else:
        ids = tok.encode(prompt, add_special_tokens=True)
    if not ids:
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        ids = [start]
    return ids


def response_ids(tok: Any, prompt: Any, response: str, conversational: bool) -> list:
    if not conversational:
        return tok.encode(response, add_special_tokens=False) + [tok.eos_token_id]
    p = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(prompt + response, tokenize=False)
    if not full.startswith(p):
        raise ValueError("the chat template renders the prompt differently with and without the response")
    return tok.encode(full[len(p) :], add_special_tokens=False)


@torch.no_grad()
def token_logps(model: Any, ids: list, start: int) -> torch.Tensor:
    """Log-probs of ids[start:] each given the tokens before it (one sequence)."""
    x = torch.tensor([ids], device=model.device)
    logits = model(input_ids=x).logits[0, start - 1 : -1].float()
    return torch.log_softmax(logits, -1).gather(-1, x[0, start:, None])[:, 0]


def pair_logps(model: Any, tok: Any, rows: list, max_length: int, max_prompt_length: int | None = None) -> Any:
    """Yields (row, {chosen_logp, rejected_logp, chosen_tokens, rejected_tokens}) and counts drops."""
    for r in rows:
        conv = isinstance(r["prompt"], list)
        p = prompt_ids(tok, r["prompt"], conv)
        if max_prompt_length and len(p) > max_prompt_length:
            p = p[-max_prompt_length:]
        room = max_length - len(p)
        if room < 1:
            yield r, None
            continue
        out = {}
        for k in ("chosen", "rejected"):
            resp = response_ids(tok, r["prompt"], r[k], conv)[:room]
            out[f"{k}_logp"] = float(token_logps(model, p + resp, len(p)).sum())
            out[f"{k}_tokens"] = len(resp)
        yield r, out


def load(model_dir: str) -> Any:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ctx = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    return AutoTokenizer.from_pretrained(model_dir), model, ctx


def main(argv: list | None = None) -> None:
    a = argparse.ArgumentParser(prog="dpo logps --engine torch")
    a.add_argument("--model", required=True)
    a.add_argument("--data", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--max-length", type=int)
    a.add_argument("--max-prompt-length", type=int)
    a.add_argument("--skip-bad-lines", action="store_true")
    o = a.parse_args(argv)
    tok, model, ctx = load(o.model)
    max_length = min(o.max_length or ctx, ctx)
    rows, problems, _ = read_pairs(o.data, o.skip_bad_lines, completions=False)
    if problems:
        print(f"skipped {len(problems)} unusable line(s) (--skip-bad-lines)", file=sys.stderr)
    tmp = f"{o.out}.tmp-{os.getpid()}"
    written = dropped = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for r, out in pair_logps(model, tok, rows, max_length, o.max_prompt_length):
            if out is None:
                dropped += 1
                continue
            f.write(
                json.dumps({"line": r["line"], **{k: out[k] for k in ("chosen_logp", "rejected_logp", "chosen_tokens", "rejected_tokens")}})
                + "\n"
            )
            written += 1
    os.replace(tmp, o.out)
    if dropped:
        print(f"dropped {dropped} pair(s) whose prompt alone fills max_length {max_length}", file=sys.stderr)
    print(f"wrote {written} line(s) to {o.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
