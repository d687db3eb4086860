"""`python -m dpo_studio.reward`: the implicit reward of both responses of every pair under a tuned model
and its reference (β·(log πθ − log πref), summed over response tokens), the margin and σ(margin), the
same lines and summary as the tfjs engine's `dpo reward`."""

import argparse
import json
import math
import os
import sys

from .data import read_pairs
from .implicit_reward import implicit_reward
from .logps import load, pair_logps


def main(argv: list | None = None) -> None:
    a = argparse.ArgumentParser(prog="dpo reward --engine torch")
    a.add_argument("--model", required=True)
    a.add_argument("--ref", required=True)
    a.add_argument("--data", required=True)
    a.add_argument("--out")
    a.add_argument("--beta", type=float, default=0.1)
    a.add_argument("--max-length", type=int)
    a.add_argument("--skip-bad-lines", action="store_true")
    o = a.parse_args(argv)
    tok, policy, ctx = load(o.model)
    _, reference, ref_ctx = load(o.ref)
    max_length = min(o.max_length or ctx, ctx, ref_ctx)
    rows, problems, _ = read_pairs(o.data, o.skip_bad_lines, completions=False)
    if problems:
        print(f"skipped {len(problems)} unusable line(s) (--skip-bad-lines)", file=sys.stderr)
    out = []
    ref = {r["line"]: v for r, v in pair_logps(reference, tok, rows, max_length)}
    for r, p in pair_logps(policy, tok, rows, max_length):
        if p is None:
            continue
        q = ref[r["line"]]
        c, j = implicit_reward(p["chosen_logp"], q["chosen_logp"], o.beta), implicit_reward(p["rejected_logp"], q["rejected_logp"], o.beta)
        out.append(
            {
                "line": r["line"],
                "chosen_reward": c,
                "rejected_reward": j,
                "margin": c - j,
                "preference_probability": 1 / (1 + math.exp(-(c - j))),
            }
        )
    text = "".join(json.dumps(x) + "\n" for x in out)
    if o.out:
        with open(o.out + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(o.out + ".tmp", o.out)
    else:
        sys.stdout.write(text)
    n = max(1, len(out))
    acc = sum(x["margin"] > 0 for x in out) / n
    print(
        f"{len(out)} pair(s): reward accuracy {acc:.3f}, mean margin {sum(x['margin'] for x in out) / n:.4f}{'; wrote ' + o.out if o.out else ''}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
