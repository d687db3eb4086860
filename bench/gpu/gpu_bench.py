"""The torch half of `npm run bench:gpu` (bench/gpu/main.ts runs it and adds the WebGPU row): the torch
engine against bare TRL DPOTrainer on a Qwen2-0.5B-shaped random checkpoint made from a config (nothing
downloaded), LoRA r16 and full fine-tuning, bf16, max_length 1024, each at the batch that fills the GPU
(searched), with tokens/s, peak memory and MFU. `--tiny` (automatic without CUDA) runs the same rows
on CPU with tiny shapes and fp32, so the script cannot rot. Not a correctness check.

    python bench/gpu/gpu_bench.py all --out DIR [--tiny]      # writes DIR/torch-report.json
    python bench/gpu/gpu_bench.py run --spec JSON              # one measurement (a child process)
    python bench/gpu/gpu_bench.py wheels                       # the pins collect-wheels.sh downloads

MFU's FLOP count (PaLM's convention, recomputation not counted): one forward pass costs
F = 2·N + 4·L·d·T FLOPs per token (N: every parameter, the tied head counted once as its product;
L layers, d the attention width, T the sequence length). A full DPO step is the policy's forward and
backward (3F) plus the reference's forward (F): 4F per token. Under LoRA the frozen base needs no
weight gradients: forward, the input gradients (≈F) and the reference forward (adapters off): 3F.
MFU = FLOPs per token × tokens/s ÷ the device's dense bf16 peak."""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# Qwen2-0.5B's config.json (hidden 896, 24 layers, 14 heads, 2 KV heads, MLP 4864, vocab 151936, tied).
QWEN2_05B: dict[str, Any] = {
    "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
    "vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
}  # fmt: skip
TINY: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 512, "max_position_embeddings": 256, "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
}  # fmt: skip

BUDGET_SECONDS = 420
# Dense bf16 tensor-core peaks (vendor data sheets, without sparsity), matched on the CUDA device name.
PEAK_BF16 = [
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10", 125e12),
]


def peak_flops(device_name: str | None) -> tuple[float | None, str]:
    env = os.environ.get("DPO_BENCH_PEAK_TFLOPS")
    if env:
        return float(env) * 1e12, "DPO_BENCH_PEAK_TFLOPS"
    if device_name is None:
        return None, "no CUDA device: no peak figure for MFU"
    for key, flops in PEAK_BF16:
        if key in device_name:
            return flops, f"{key} dense bf16 data-sheet peak"
    return None, f"no peak figure for {device_name}: set DPO_BENCH_PEAK_TFLOPS"


def flops_per_token(shape: dict, parameters: int, max_length: int, lora: bool) -> float:
    d, layers = shape["hidden_size"], shape["num_hidden_layers"]
    forward = 2 * parameters + 4 * layers * d * max_length
    return (3 if lora else 4) * forward


def make_model(out: str, tiny: bool) -> dict:
    """A random Qwen2ForCausalLM with the byte-level tokenizer of `dpo make-tiny-model` (ids < 259)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    # DPO_BENCH_TOKENIZER: a folder holding that tokenizer made elsewhere, for a GPU machine without
    # Node (bench/gpu/bare-machine.sh); else `dpo make-tiny-model` makes it here.
    tok_dir = os.environ.get("DPO_BENCH_TOKENIZER") or os.path.join(out, "tokenizer-source")
    if not os.environ.get("DPO_BENCH_TOKENIZER"):
        if shutil.which("node") is None:
            raise SystemExit("gpu_bench: no `node` here to make the tokenizer: set DPO_BENCH_TOKENIZER (see bench/gpu/bare-machine.sh)")
        subprocess.run(
            ["node", os.path.join(ROOT, "bin", "dpo.js"), "make-tiny-model", "--out", tok_dir, "--family", "llama", "--layers", "1",
             "--d-model", "16", "--heads", "2"],
            check=True, capture_output=True,
        )  # fmt: skip
    shape = TINY if tiny else QWEN2_05B
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(**shape))
    model_dir = os.path.join(out, "model")
    model.to(torch.float32 if tiny else torch.bfloat16).save_pretrained(model_dir)
    for name in os.listdir(tok_dir):
        if name.startswith("tokenizer"):
            with (
                open(os.path.join(tok_dir, name), "rb") as f,
                open(os.path.join(model_dir, name), "wb") as g,
            ):
                g.write(f.read())
    return {
        "dir": model_dir,
        "shape": shape,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def make_pairs(path: str, count: int, max_length: int) -> None:
    """Pairs longer than max_length in bytes (the tokenizer's tokens), so every sequence is cut to exactly max_length."""
    words = "the quick brown fox jumps over a lazy dog while seven wizards quietly hex a jovial bank clerk "
    text = (words * (max_length // len(words) + 2))[: max_length + 16]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"prompt": f"Q{i}: {text[:32]}", "chosen": text, "rejected": text[::-1]}) + "\n" for i in range(count))


class StepTimer:
    """Median gap between optimizer steps (the first, which warms up, excluded); a transformers callback."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        self.times: list[float] = []
        timer = self

        class Callback(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                timer.times.append(time.perf_counter())

        self.callback = Callback()

    def seconds(self) -> float:
        gaps = [b - a for a, b in zip(self.times, self.times[1:], strict=False)]
        return statistics.median(gaps[1:] if len(gaps) > 2 else gaps)


def run_one(spec: dict) -> dict:
    """One measurement: spec = {who: engine|trl, lora, batch, steps, max_length, model, data, out, cuda}."""
    import torch

    cuda = spec["cuda"]
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    timer = StepTimer()
    try:
        if spec["who"] == "engine":
            sys.path.insert(0, os.path.join(ROOT, "python"))
            from dpo_studio.schemas import resolve_config
            from dpo_studio.train import Run

            c = resolve_config(
                {"engine": "torch", "model": spec["model"], "data": spec["data"], "output_dir": spec["out"], "max_steps": spec["steps"],
                 "batch_size": spec["batch"], "learning_rate": 1e-5, "lr_scheduler_type": "constant", "warmup_ratio": 0,
                 "max_length": spec["max_length"], "eval_fraction": 0, "save_steps": 100000, "logging_steps": 1,
                 "dtype": "bf16" if cuda else "fp32", "lora_r": 16 if spec["lora"] else 0, "lora_alpha": 32,
                 "gradient_checkpointing": False}
            )  # fmt: skip
            Run(c, extra_callbacks=[timer.callback]).run()
        else:
            from datasets import Dataset
            from transformers import AutoTokenizer
            from trl import DPOConfig, DPOTrainer

            with open(spec["data"], encoding="utf-8") as f:
                rows = [json.loads(line) for line in f]
            peft = None
            if spec["lora"]:
                from peft import LoraConfig

                peft = LoraConfig(
                    r=16,
                    lora_alpha=32,
                    lora_dropout=0.0,
                    target_modules="all-linear",
                    task_type="CAUSAL_LM",
                )
            args = DPOConfig(
                output_dir=spec["out"], max_steps=spec["steps"], per_device_train_batch_size=spec["batch"], learning_rate=1e-5,
                lr_scheduler_type="constant", warmup_steps=0, max_length=spec["max_length"], logging_steps=1, save_strategy="no",
                eval_strategy="no", report_to=[], gradient_checkpointing=False, bf16=cuda, use_cpu=not cuda, disable_tqdm=True,
                seed=42, beta=0.1, max_grad_norm=1.0, model_init_kwargs={"dtype": torch.bfloat16 if cuda else torch.float32},
            )  # fmt: skip
            DPOTrainer(
                model=spec["model"], args=args, train_dataset=Dataset.from_list(rows), peft_config=peft,
                processing_class=AutoTokenizer.from_pretrained(spec["model"]), callbacks=[timer.callback],
            ).train()  # fmt: skip
    except torch.OutOfMemoryError:
        return {"oom": True}
    peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"oom": False, "step_seconds": timer.seconds(), "peak_memory_bytes": peak}


def child(spec: dict, processes: int) -> dict:
    """Runs one measurement in its own process (a clean peak memory, and an OOM cannot poison the next);
    tiny CPU runs stay in this process, where start-up would cost more than the runs themselves."""
    if not spec["cuda"] and processes == 1:
        return run_one(spec)
    launch = [sys.executable, os.path.abspath(__file__)]
    if processes > 1:
        launch = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--num_processes",
            str(processes),
            os.path.abspath(__file__),
        ]
    p = subprocess.run([*launch, "run", "--spec", json.dumps(spec)], capture_output=True, text=True, check=False)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
    if any("OutOfMemoryError" in line or "CUDA out of memory" in line for line in tail):
        return {"oom": True}
    raise RuntimeError(f"{spec['who']} run failed (exit {p.returncode}): " + " | ".join(tail))


def search_batch(spec: dict, total_memory: int, limit: int = 256) -> tuple[int, list[dict]]:
    """The largest batch that fits ~90% of the GPU: peak memory at 1 and 2 pairs gives the per-pair
    slope, the prediction is tried, and shrunk by a fifth until it runs without running out."""
    tried = []
    m = {}
    for b in (1, 2):
        r = child({**spec, "batch": b, "steps": 2}, 1)
        tried.append({"batch": b, **r})
        if r["oom"]:
            return max(1, b - 1), tried
        m[b] = r["peak_memory_bytes"]
    slope = max(m[2] - m[1], 1)
    b = int(min(limit, max(2, (0.9 * total_memory - m[1]) // slope + 1)))
    while b > 2:
        r = child({**spec, "batch": b, "steps": 2}, 1)
        tried.append({"batch": b, **r})
        if not r["oom"] and r["peak_memory_bytes"] <= 0.95 * total_memory:
            return b, tried
        b = int(b * 0.8)
    return 2, tried


def run_all(out: str, tiny: bool) -> dict:
    import torch

    started = time.time()
    cuda = torch.cuda.is_available() and not tiny
    gpus = torch.cuda.device_count() if cuda else 0
    device = torch.cuda.get_device_name(0) if cuda else None
    max_length = 1024 if not tiny else 64
    steps = 8 if not tiny else 3
    model = make_model(out, tiny)
    peak, peak_source = peak_flops(device)
    total_memory = torch.cuda.get_device_properties(0).total_memory if cuda else 0
    rows = []
    for lora in (True, False):
        method = "LoRA r16" if lora else "full"
        base = {
            "lora": lora,
            "max_length": max_length,
            "model": model["dir"],
            "cuda": cuda,
        }
        data = os.path.join(out, f"pairs-{'lora' if lora else 'full'}.jsonl")
        make_pairs(data, 4 * 256, max_length)
        base["data"] = data
        searched: list[dict] = []
        batch = 2
        if cuda and time.time() - started < BUDGET_SECONDS:
            batch, searched = search_batch({**base, "who": "trl", "out": os.path.join(out, "search")}, total_memory)
        for processes in (1, 2) if gpus >= 2 else (1,):
            for who in ("trl", "engine"):
                spec = {
                    **base,
                    "who": who,
                    "batch": batch,
                    "steps": steps,
                    "out": os.path.join(out, f"{who}-{method[:4]}-{processes}"),
                }
                # The GPU check must end within 8 minutes: a row that would start after 7 is left out, saying so.
                over = cuda and time.time() - started > BUDGET_SECONDS
                r = {"oom": False, "skipped": True} if over else child(spec, processes)
                row: dict[str, Any] = {
                    "engine": "torch engine" if who == "engine" else "bare TRL DPOTrainer", "method": method, "processes": processes,
                    "batch_per_process": batch, "max_length": max_length, "dtype": "bf16" if cuda else "fp32", "steps": steps,
                    "batch_search": searched if who == "trl" and processes == 1 else None,
                }  # fmt: skip
                if r.get("skipped"):
                    rows.append({**row, "error": f"not run: past {BUDGET_SECONDS} s of the 8-minute budget"})
                    continue
                if r["oom"]:
                    rows.append({**row, "error": "out of memory"})
                    continue
                tokens = 2 * batch * max_length * processes  # chosen and rejected, every sequence cut to max_length
                tps = tokens / r["step_seconds"]
                fpt = flops_per_token(model["shape"], model["parameters"], max_length, lora)
                rows.append({
                    **row, "step_seconds": r["step_seconds"], "tokens_per_second": tps, "peak_memory_bytes": r["peak_memory_bytes"],
                    "peak_memory_kind": "torch.cuda.max_memory_allocated (rank 0)" if cuda else "process max RSS",  # tiny: the runs so far
                    "flops_per_token": fpt, "mfu": fpt * tps / (peak * processes) if peak else None,
                })  # fmt: skip
    versions = {}
    for name in ("torch", "transformers", "trl", "peft", "accelerate"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return {
        "mode": "tiny" if tiny else "gpu", "cuda": cuda, "gpus": gpus, "device": device or "cpu", "versions": versions,
        "model": {"shape": model["shape"], "parameters": model["parameters"], "family": "Qwen2ForCausalLM (random, from a config)"},
        "peak_flops": peak, "peak_flops_source": peak_source,
        "flop_formula": "F = 2N + 4·L·d·T per token; full DPO 4F (policy forward+backward, reference forward), LoRA 3F",
        "rows": rows, "seconds": time.time() - started, "model_dir": model["dir"],
    }  # fmt: skip


def wheel_pins() -> list[str]:
    """name==version of TRL, PEFT, datasets, jsonschema and what they need beyond torch, transformers and
    accelerate (which a GPU machine has), as installed in this Python."""
    import re
    from importlib.metadata import PackageNotFoundError, requires, version

    def deps(name: str) -> list[str]:
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            return []
        return [re.split(r"[ ;<>=!\[~(]", r)[0].lower().replace("_", "-") for r in reqs if "extra ==" not in r]

    def closure(roots: list[str], skip: set[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            n = stack.pop()
            if n not in seen and n not in skip:
                seen.add(n)
                stack.extend(deps(n))
        return seen

    present = closure(["torch", "transformers", "accelerate"], set())
    pins = []
    for name in sorted(closure(["trl", "peft", "datasets", "jsonschema"], present)):
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pass  # a dependency for another platform or Python (e.g. tzdata)
    return pins


def main() -> None:
    a = argparse.ArgumentParser()
    a.add_argument("what", choices=["all", "run", "wheels"])
    a.add_argument("--out")
    a.add_argument("--tiny", action="store_true")
    a.add_argument("--spec")
    o = a.parse_args()
    if o.what == "wheels":
        print("\n".join(wheel_pins()))
        return
    if o.what == "run":
        r = run_one(json.loads(o.spec))
        if int(os.environ.get("RANK", "0")) == 0:
            print("RESULT " + json.dumps(r), flush=True)
        return
    import torch

    out = o.out or tempfile.mkdtemp(prefix="dpo-bench-gpu-")
    os.makedirs(out, exist_ok=True)
    report = run_all(out, o.tiny or not torch.cuda.is_available())
    with open(os.path.join(out, "torch-report.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {os.path.join(out, 'torch-report.json')}")


if __name__ == "__main__":
    main()
