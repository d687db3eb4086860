"""One training run on TRL (DPOTrainer for mode dpo, SFTTrainer for mode sft) writing the run folder
of the COMMON contract and reporting through a sink (the engine turns it into protocol events). Rank 0
alone writes and reports when launched on several processes."""

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import data as data_mod
from . import model_check, tokenize_check, trl_map
from .device import describe_device
from .health import HealthMonitor
from .run_folder import RunFolder, decide_start, now_iso
from .run_lock import RunLockError, acquire_run_lock
from .run_records import read_records
from .unpaired import read_unpaired


class TrainingError(RuntimeError):
    pass


class NullSink:
    def progress(self, phase: str, done: int, total: int, message: str | None = None) -> None: ...
    def metrics(self, record: dict) -> None: ...
    def warning(self, w: dict) -> None: ...
    def checkpoint(self, step: int, path: str) -> None: ...
    def log(self, line: str) -> None: ...


def _is_main() -> bool:
    # torchrun/accelerate launch set RANK for every worker; a plain process is rank 0.
    return int(os.environ.get("RANK", "0")) == 0


def _model_context(model_dir: str) -> int | None:
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(model_dir)
    for k in ("max_position_embeddings", "n_positions", "n_ctx"):
        if isinstance(getattr(cfg, k, None), int):
            return getattr(cfg, k)
    return None


def _model_vocab(model_dir: str) -> int | None:
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(model_dir)
    return getattr(cfg.get_text_config(), "vocab_size", None)


class Run:
    def __init__(
        self,
        config: dict,
        sink: Any = None,
        should_stop: Callable[[], bool] = lambda: False,
        resume: bool = False,
        extra_callbacks: Sequence[Any] = (),
    ):
        self.c = config
        self.extra_callbacks = list(extra_callbacks)  # e.g. the benchmark's step timer
        self.sink = sink or NullSink()
        self.should_stop = should_stop
        self.resume = resume
        self.folder = RunFolder(config["output_dir"])
        self.main = _is_main()
        self.device = describe_device()
        self.stopped = False
        self.total_steps = 0
        self.step = 0
        self.pairs: dict = {"train": [], "eval": []}
        self.health = HealthMonitor.for_config(config, has_eval=False)  # has_eval is known once the data is split
        self.started = time.time()
        self.base_elapsed = 0.0
        self.last_tokens: tuple | None = None
        self.last_eval_step: int | None = None
        self.release_lock = lambda: None
        self.claimed = False
        self.resume_step: int | None = None  # the checkpoint's step, on resume
        self.kept_warnings: set | None = None

    # --- reporting (rank 0 only) ---
    def log(self, line: str) -> None:
        if self.main:
            self.folder.log(line)
            self.sink.log(line)

    def warn(self, code: str, message: str, step: int) -> None:
        if self.main:
            # A resumed run repeats its start-up warnings (data); the kept records already hold them.
            if not self._kept_warning(code, message, step):
                self.folder.append("metrics.jsonl", [{"kind": "warning", "step": step, "code": code, "message": message}])
            self.folder.log(f"warning [{code}] step {step}: {message}")
            self.sink.warning({"code": code, "message": message, "step": step})

    def _kept_warning(self, code: str, message: str, step: int) -> bool:
        if self.resume_step is None or step > self.resume_step:
            return False
        if self.kept_warnings is None:
            records, _ = read_records(self.folder.path("metrics.jsonl"), "metrics")
            self.kept_warnings = {(r.get("code"), r.get("step"), r.get("message")) for r in records if r.get("kind") == "warning"}
        return (code, step, message) in self.kept_warnings

    def status(self, status: str, message: str | None = None) -> None:
        if self.main:
            rec = {
                "kind": "status",
                "status": status,
                "step": self.step,
                "total_steps": self.total_steps,
                "time": now_iso(),
                "engine": "torch",
                "device": self.device["label"],
            }
            if message:
                rec["message"] = message
            self.folder.append("metrics.jsonl", [rec])

    def on_pairs(self, split: str, rows: list) -> None:
        if self.main:
            self.pairs[split].extend(rows)

    def on_log(self, step: int, logs: dict) -> None:
        if not self.main:
            return
        nums = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if "eval_loss" in nums:
            split = "eval"
            self.last_eval_step = step
        elif "loss" in nums:
            split = "train"
        else:
            return  # the end-of-training summary (train_runtime, …)
        elapsed = self.base_elapsed + time.time() - self.started
        record = {"step": step, "epoch": nums.pop("epoch", 0.0), **nums}
        if split == "train":
            tokens = nums.get("num_tokens")
            if tokens is not None and self.last_tokens is not None and elapsed > self.last_tokens[1]:
                record["tokens_per_second"] = (tokens - self.last_tokens[0]) / (elapsed - self.last_tokens[1])
            if tokens is not None:
                self.last_tokens = (tokens, elapsed)
            record["elapsed_seconds"] = elapsed
        finite = {k: v for k, v in record.items() if math.isfinite(v)}
        self.folder.append("metrics.jsonl", [{"kind": "metrics", "split": split, **finite}])
        self.folder.append(
            "pairs.jsonl",
            [
                {"step": step, "split": split, **p}
                for p in self.pairs[split]
                if all(math.isfinite(p[k]) for k in ("chosen_reward", "rejected_reward", "loss"))
            ],
        )
        self.pairs[split] = []
        self.sink.metrics(finite)
        if split == "train":
            loss = record.get("loss", float("nan"))
            if not math.isfinite(loss) or not math.isfinite(record.get("grad_norm", 0.0)):
                message = f"non-finite loss or grad_norm at step {step}. Lower learning_rate, check the data, or keep max_grad_norm > 0."
                self.warn("non-finite", message, step)
                raise TrainingError(message)
        if self.c["mode"] == "dpo":
            # The rules of health.ts: the train rule only without held-out pairs, the eval rule over evaluations.
            self.health.has_eval = getattr(getattr(self, "trainer", None), "eval_dataset", None) is not None
            for w in self.health.observe_eval(finite) if split == "eval" else self.health.observe(finite):
                self.warn(w["code"], w["message"], w["step"])

    # --- the run ---
    def prepare(self) -> None:
        """Decides what this start does with the folder (run_folder.decide_start, the rule both engines
        share), takes the run lock and applies it: a new run writes config.json; a resume drops the
        records after its checkpoint's step; a resume killed before any complete checkpoint starts over."""
        folder, c = self.folder, self.c
        # Other ranks of a new run would find rank 0's config.json: only rank 0 judges a new folder.
        decision: dict[str, Any] = decide_start(folder.root, self.resume) if self.main or self.resume else {"action": "new"}
        if decision["action"] == "refuse":
            raise TrainingError(decision["message"])
        if self.main:
            os.makedirs(folder.root, exist_ok=True)
            try:  # one writer per folder, either engine (the same run.lock as src/engine/train/run-lock.ts)
                self.release_lock = acquire_run_lock(folder.root)
            except RunLockError as e:
                raise TrainingError(str(e)) from e
        self.claimed = True
        self.resume_dir: str | None = None
        if decision["action"] == "resume":
            self.resume_dir = decision["dir"]
            self.resume_step = decision["step"]
            if self.main:
                folder.truncate_after(decision["step"])
                self.base_elapsed = _last_elapsed(folder)
            self.log(f"resumed from {self.resume_dir} (step {decision['step']})")
        elif decision["action"] == "restart":
            self.resume = False  # from step 0 as a new run would (its step-0 eval included)
            if self.main:
                folder.truncate_after(-1)
            self.log(decision["message"])
        elif self.main:
            folder.write_json("config.json", c)
        if self.main:
            folder.clean_staging()

    def read_data(self, max_length: int) -> tuple[list, list]:
        c = self.c
        sft = c["mode"] == "sft"

        def read(path: str) -> list:
            if c["mode"] == "kto":  # unpaired lines, or pairs unpaired by TRL (unpaired.py)
                rows, problems, excluded = read_unpaired(path, c["skip_bad_lines"])[:3]
            else:
                rows, problems, excluded = data_mod.read_pairs(path, c["skip_bad_lines"], completions=sft)
            if problems:
                self.warn("data", f"{path}: skipped {len(problems)} unusable line(s) (skip_bad_lines)", 0)
            if excluded:
                self.log(f'data: {path}: left out {excluded} pair(s) labeled "tie" or "skip"')
            return rows

        train = read(c["data"])
        if c["eval_data"]:
            evals = read(c["eval_data"])
        else:
            train, evals = data_mod.split_eval(train, c["eval_fraction"], c["seed"])
        if not train:
            raise TrainingError(f"{c['data']}: no training pairs left after the eval split")
        self.log(f"data: {len(train)} training pair(s), {len(evals)} eval pair(s); max_length {max_length}")
        return train, evals

    def build(self) -> Any:
        from datasets import Dataset
        from transformers import AutoModelForCausalLM, AutoTokenizer

        c = self.c
        for field in ("model", "reference_model"):  # before transformers reads anything of them
            if c[field]:
                model_check.check_model_folder(c[field], field)
        tok = AutoTokenizer.from_pretrained(c["model"])
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        model_check.check_tokenizer_fits(c["model"], tok, _model_vocab(c["model"]))
        ctx = _model_context(c["model"])
        max_length = min(c["max_length"], ctx) if ctx else c["max_length"]
        if max_length < c["max_length"]:
            self.log(f"max_length {c['max_length']} exceeds the model's {max_length} positions; using {max_length}")
        train, evals = self.read_data(max_length)
        # TRL tokenises in-process, where a runaway tokenizer regex cannot be interrupted: time it aside first.
        tokenize_check.check_tokenizer_time(c["model"], [(c["data"], train), (c["eval_data"] or c["data"], evals)])
        has_eval = len(evals) > 0
        dtype = trl_map.DTYPES[c["dtype"]]
        peft_config = trl_map.lora_config(c)
        from .export_metrics_callback import live_callbacks  # report_to: follows what StudioCallback appends
        from .studio_callback import StudioCallback

        callbacks = [StudioCallback(self), *live_callbacks(c, self.folder.root, self.main), *self.extra_callbacks]
        if c["mode"] == "sft":
            from trl import SFTConfig, SFTTrainer

            as_sft = lambda rows: Dataset.from_list([{"prompt": r["prompt"], "completion": r["chosen"]} for r in rows])
            args = SFTConfig(
                **trl_map.sft_args(c, self.folder.staging, max_length, has_eval, self.resume), model_init_kwargs={"dtype": dtype}
            )
            return SFTTrainer(
                model=c["model"],
                args=args,
                train_dataset=as_sft(train),
                eval_dataset=as_sft(evals) if has_eval else None,
                processing_class=tok,
                peft_config=peft_config,
                callbacks=callbacks,
            )
        if c["mode"] == "kto":
            from .kto import build_kto_trainer

            return build_kto_trainer(self, tok, train, evals, max_length, callbacks, dtype, peft_config)
        if c["loss_type"] in trl_map.REFERENCE_FREE:
            from .reference_free import build_trainer

            return build_trainer(self, tok, train, evals, max_length, has_eval, dtype, peft_config, callbacks)
        from trl import DPOConfig

        from .pairs import LinedCollator, LinedDPOTrainer

        ref = None
        if c["reference_model"]:
            ref = AutoModelForCausalLM.from_pretrained(c["reference_model"], dtype=dtype)
        args = DPOConfig(**trl_map.dpo_args(c, self.folder.staging, max_length, has_eval, self.resume), model_init_kwargs={"dtype": dtype})
        trainer = LinedDPOTrainer(
            model=c["model"],
            ref_model=ref,
            args=args,
            train_dataset=Dataset.from_list(train),
            eval_dataset=Dataset.from_list(evals) if has_eval else None,
            processing_class=tok,
            peft_config=peft_config,
            data_collator=LinedCollator(pad_token_id=tok.pad_token_id, max_length=max_length, truncation_mode="keep_start"),
            callbacks=callbacks,
        )
        trainer.pair_sink = self.on_pairs
        return trainer

    def run(self) -> dict:
        c = self.c
        try:
            try:
                trl_map.check_objective(c)
            except ValueError as e:
                raise TrainingError(str(e)) from e
            self.prepare()
            self.log(
                f"{'resuming' if self.resume else 'starting'} {c['mode']} run in {c['output_dir']}; torch engine on {self.device['label']}"
                + (f" ({self.device['threads']} threads)" if "threads" in self.device else "")
            )
            self.sink.progress("loading", 0, 1, f"policy {c['model']}")
            trainer = self.build()
            self.trainer = trainer
            self.status("running")
            if self.resume_dir and _training_done(self.resume_dir):
                # Killed after the last step (writing final/): HF's train() would run one step past
                # max_steps, so the checkpoint is loaded as it is and the run goes on to its end.
                from transformers import TrainerState

                trainer.state = TrainerState.load_from_json(os.path.join(self.resume_dir, "trainer_state.json"))
                trainer._load_from_checkpoint(self.resume_dir)
                self.step, self.total_steps = trainer.state.global_step, trainer.state.max_steps
            else:
                trainer.train(resume_from_checkpoint=self.resume_dir)
            if self.stopped:
                self.end_staging()
                self.log(f"stopped at step {self.step} of {self.total_steps}; resume with: dpo train --resume {c['output_dir']}")
                self.status("stopped")
                return {"runDir": c["output_dir"], "reason": "stopped", "step": self.step, "totalSteps": self.total_steps}
            # From TrainerState, which every rank holds alike (and a resumed run restores): a decision
            # taken on rank 0 alone would send one rank into evaluate()'s collectives by itself.
            if trainer.eval_dataset is not None and not evaluated_at(trainer.state):
                trainer.evaluate()
            final = self.save_final(trainer)
            self.end_staging()
            self.log(f"done: {self.step} step(s); final model in {final}")
            self.status("completed")
            return {"runDir": c["output_dir"], "reason": "completed", "step": self.step, "totalSteps": self.total_steps, "finalDir": final}
        except Exception as e:
            if self.claimed:  # a folder refused (another run's, other files, locked) is left untouched
                self.log(f"error: {e}")
                self.status("failed", str(e))
            raise
        finally:
            self.release_lock()

    def end_staging(self) -> None:
        """Removes HF's own leftovers in the staging folder (a model card; checkpoints were moved out)
        once every rank is done with it: rank 0 removing it while another rank's Trainer still looks
        into its output_dir failed that rank (FileNotFoundError on .hf-staging, a 3-process run)."""
        from accelerate import PartialState

        state = PartialState()
        if state.num_processes > 1:
            state.wait_for_everyone()
        if self.main:
            self.folder.clean_staging()

    def save_final(self, trainer: Any) -> str:
        self.sink.progress("saving", 0, 1, "final model")
        final = self.folder.path("final")
        tmp = final + ".tmp"
        if self.main:
            shutil.rmtree(tmp, ignore_errors=True)
        trainer.save_model(tmp)
        if self.main:
            trainer.processing_class.save_pretrained(tmp)
            if self.c["lora_r"] > 0 and self.c["merge_lora"]:
                merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
                merged.save_pretrained(os.path.join(tmp, "merged"))
                trainer.processing_class.save_pretrained(os.path.join(tmp, "merged"))
            self.folder.discard(final)  # a resumed run's previous final/: whole or gone, never half
            os.replace(tmp, final)
        self.sink.progress("saving", 1, 1)
        return final


def _training_done(checkpoint_dir: str) -> bool:
    import json

    with open(os.path.join(checkpoint_dir, "trainer_state.json"), encoding="utf-8") as f:
        state = json.load(f)
    return bool(state.get("max_steps")) and state.get("global_step", 0) >= state["max_steps"]


def evaluated_at(state: Any) -> bool:
    """Whether the trainer's log history holds an evaluation at its current step."""
    return any("eval_loss" in h and h.get("step") == state.global_step for h in state.log_history)


def _last_elapsed(folder: RunFolder) -> float:
    """Seconds the run had trained when its kept records end (0 when none), read with the tolerant
    reader: a torn last line from a kill is skipped, never an error that blocks resume."""
    records, _ = read_records(folder.path("metrics.jsonl"), "metrics")
    return next((float(r["elapsed_seconds"]) for r in reversed(records) if "elapsed_seconds" in r), 0.0)
