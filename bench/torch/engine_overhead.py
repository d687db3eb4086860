"""Torch-engine step time against a bare TRL script with the same config on this machine.

    .cache/torch-env/bin/python bench/torch/engine_overhead.py [--steps 12] [--repeats 2]

Both run TRL 1.13's DPOTrainer on the same model folder, pairs, batch and DPOConfig values; the engine
adds its data reader, line-carrying collator, per-pair capture, metrics/pairs writing and the health
rules. Step time = the median interval between consecutive optimizer steps (the final step, which
saves, excluded), in wall and process-CPU seconds, taken by the same callback in both; runs alternate
to share the machine's noise."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

from transformers import TrainerCallback  # noqa: E402


class StepTimer(TrainerCallback):
    def __init__(self):
        self.times = []
        self.cpu = []

    def on_step_end(self, args, state, control, **kw):
        self.times.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def step_seconds(self):
        def med(xs):
            gaps = [b - a for a, b in zip(xs, xs[1:])]
            return statistics.median(gaps[1:-1] if len(gaps) > 3 else gaps)

        # Wall time, and this process's CPU time (all threads), which a machine shared with other
        # jobs disturbs much less than wall time.
        return {"wall": med(self.times), "cpu": med(self.cpu)}


def bare_trl(model, data, out, steps, batch, max_length):
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    rows = [json.loads(l) for l in open(data, encoding="utf-8")]
    ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    args = DPOConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=batch, learning_rate=1e-4, lr_scheduler_type="constant",
                     warmup_steps=0, max_length=max_length, logging_steps=1, save_strategy="no", eval_strategy="no", report_to=[],
                     gradient_checkpointing=False, bf16=False, use_cpu=True, disable_tqdm=True, seed=42, data_seed=42, beta=0.1)
    timer = StepTimer()
    DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=AutoTokenizer.from_pretrained(model), callbacks=[timer]).train()
    return timer.step_seconds()


def engine(model, data, out, steps, batch, max_length):
    from dpo_studio.schemas import resolve_config
    from dpo_studio.train import Run

    timer = StepTimer()
    c = resolve_config({"engine": "torch", "model": model, "data": data, "output_dir": out, "max_steps": steps, "batch_size": batch,
                        "learning_rate": 1e-4, "lr_scheduler_type": "constant", "warmup_ratio": 0, "max_length": max_length,
                        "eval_fraction": 0, "save_steps": 10_000, "logging_steps": 1})
    Run(c, extra_callbacks=[timer]).run()
    return timer.step_seconds()


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--steps", type=int, default=12)
    a.add_argument("--repeats", type=int, default=2)
    a.add_argument("--batch", type=int, default=4)
    a.add_argument("--max-length", type=int, default=128)
    o = a.parse_args()
    tmp = tempfile.mkdtemp(prefix="dpo-bench-torch-")
    model = os.path.join(tmp, "model")
    subprocess.run(["node", os.path.join(ROOT, "bin", "dpo.js"), "make-tiny-model", "--out", model, "--layers", "4", "--d-model", "256",
                    "--heads", "4", "--vocab", "8192", "--max-positions", "256"], check=True)
    data = os.path.join(tmp, "pairs.jsonl")
    with open(os.path.join(ROOT, "examples", "preferences.jsonl"), encoding="utf-8") as f, open(data, "w", encoding="utf-8") as g:
        g.writelines(f.readlines()[: o.steps * o.batch])
    res = {"bare": [], "engine": []}
    for i in range(o.repeats):
        # Alternate which goes first: the first run in a process pays one-time costs.
        for name in (("bare", "engine") if i % 2 == 0 else ("engine", "bare")):
            fn = bare_trl if name == "bare" else engine
            res[name].append(fn(model, data, os.path.join(tmp, f"{name}{i}"), o.steps, o.batch, o.max_length))
            print("PAIR", name, i, json.dumps(res[name][-1]), flush=True)
    ratio = {k: statistics.median(e[k] for e in res["engine"]) / statistics.median(b[k] for b in res["bare"]) for k in ("wall", "cpu")}
    print("RESULT " + json.dumps({"bare_trl_s_per_step": res["bare"], "engine_s_per_step": res["engine"], "ratio_engine_over_bare": ratio}))
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
