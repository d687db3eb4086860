"""The TrainerCallback through which a torch Run follows TRL's trainer: progress and stop at each
step (one decision broadcast to every rank), metrics records from each log, checkpoints adopted into
the run folder. It holds no state of its own; the Run does."""

import os
import time
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

if TYPE_CHECKING:
    from .train import Run


class StudioCallback(TrainerCallback):
    def __init__(self, run: "Run"):
        self.run = run

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw) -> None:
        self.run.total_steps = state.max_steps
        self.run.step = state.global_step
        # TRL counts num_tokens from 0 in each process (a resumed one too): the first window's rate.
        started = self.run.base_elapsed + time.time() - self.run.started
        self.run.last_tokens = (0.0, started)
        # ...and a resumed run would log num_tokens from 0 again: it continues from the count its
        # checkpoint logged last (TRL keeps the total in this attribute; test_resume_records pins it).
        trainer = getattr(self.run, "trainer", None)
        logged = [h["num_tokens"] for h in state.log_history if "num_tokens" in h and "loss" in h]
        if logged and trainer is not None and hasattr(trainer, "_total_train_tokens"):
            trainer._total_train_tokens = int(logged[-1])
            self.run.last_tokens = (float(logged[-1]), started)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw) -> None:
        self.run.on_log(state.global_step, logs or {})

    def on_step_end(self, args: Any, state: Any, control: Any, **kw) -> None:
        r = self.run
        r.step = state.global_step
        r.sink.progress("training", state.global_step, state.max_steps)
        stop = bool(r.should_stop())
        from accelerate import PartialState

        if PartialState().num_processes > 1:  # every rank stops at the same step
            from accelerate.utils import broadcast_object_list

            flag = [stop]
            broadcast_object_list(flag, from_process=0)
            stop = flag[0]
        if stop and state.global_step < state.max_steps:
            r.stopped = True
            control.should_save = True
            control.should_training_stop = True

    def on_save(self, args: Any, state: Any, control: Any, **kw) -> None:
        from accelerate import PartialState

        PartialState().wait_for_everyone()  # every rank has written its part (rng state) of checkpoint-N
        r = self.run
        if r.main:
            src = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            dest = r.folder.adopt_checkpoint(src, state.global_step, r.c["save_total_limit"])
            r.log(f"checkpoint: step {state.global_step} -> {dest}")
            r.sink.checkpoint(state.global_step, dest)
        PartialState().wait_for_everyone()
