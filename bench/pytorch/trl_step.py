"""TRL 1.13's DPOTrainer on CPU for bench/threads.ts and bench/step-sides.ts: the same model folder,
pairs and batch as our step. Step time = the median gap between consecutive optimizer steps (the
first, warm-up, excluded), wall (perf_counter) and CPU (process_time: every thread of the process).
Argument: JSON {"model", "data", "batch_size", "steps", "threads", "max_length", "out"} and optionally
"lora_r" (> 0: PEFT LoRA on every linear layer but the head, "lora_alpha", dropout 0; the reference
is the base with adapters off, as in our engine) and "gradient_checkpointing"."""
import json, statistics, sys, time

import torch
from datasets import Dataset
from transformers import AutoTokenizer, TrainerCallback
from trl import DPOConfig, DPOTrainer

a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])


class StepTimer(TrainerCallback):
    def __init__(self):
        self.times, self.cpu = [], []

    def on_step_end(self, args, state, control, **kw):
        self.times.append(time.perf_counter())
        self.cpu.append(time.process_time())


rows = [json.loads(l) for l in open(a["data"], encoding="utf-8")]
ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
args = DPOConfig(output_dir=a["out"], max_steps=a["steps"] + 1, per_device_train_batch_size=a["batch_size"], learning_rate=1e-5,
                 lr_scheduler_type="constant", warmup_steps=0, max_length=a["max_length"], logging_steps=1, save_strategy="no",
                 eval_strategy="no", report_to=[], bf16=False, use_cpu=True, disable_tqdm=True, seed=42, beta=0.1, max_grad_norm=1.0,
                 gradient_checkpointing=a.get("gradient_checkpointing", False))
peft_config = None
if a.get("lora_r", 0) > 0:
    from peft import LoraConfig

    peft_config = LoraConfig(r=a["lora_r"], lora_alpha=a.get("lora_alpha", 16), lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
timer = StepTimer()
DPOTrainer(model=a["model"], args=args, train_dataset=ds, processing_class=AutoTokenizer.from_pretrained(a["model"]), callbacks=[timer],
           peft_config=peft_config).train()
gaps = [y - x for x, y in zip(timer.times, timer.times[1:])]
cpu_gaps = [y - x for x, y in zip(timer.cpu, timer.cpu[1:])]
print(json.dumps({"step_seconds": gaps, "cpu_step_seconds": cpu_gaps, "median": statistics.median(gaps), "threads": torch.get_num_threads(),
                  "trl": __import__("trl").__version__}))
